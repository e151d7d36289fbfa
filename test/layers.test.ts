import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// The project's own ESLint configuration: its layer rules are what is checked here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require('../eslint.config.js') as Linter.Config[];
const layerConfigs = config.filter((entry) => entry.rules?.['@typescript-eslint/no-restricted-imports'] !== undefined);

/** The layer rule's complaints about `code` as if it were the file at `path` (no type information needed). */
function complaints(path: string, code: string): string[] {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(code, [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { '@typescript-eslint': tseslint.plugin as never } }, ...layerConfigs], path);
  return messages.map((m) => m.message);
}

describe('the layers, as ESLint enforces them', () => {
  it('has one layer rule per folder', () => {
    expect(layerConfigs.length).toBeGreaterThanOrEqual(8);
  });

  it.each([
    ['src/providers/lyra/x.ts', "import { readFileSync } from 'node:fs';", 'no I/O'],
    ['src/providers/lyra/x.ts', "import { recordCall } from '../../ingest/settle';", 'pure'],
    ['src/providers/lyra/x.ts', "import { PAYBOX_PLATFORM_PUBLIC_KEY } from '../paybox/platform-key';", 'another provider'],
    ['src/providers/types.ts', "import pg from 'pg';", 'no I/O'],
    ['src/domain/x.ts', "import { sql } from 'kysely';", 'no I/O'],
    ['src/domain/x.ts', "import { writeDelivery } from '../store/ingest-statements';", 'pure'],
    ['src/http/x.ts', "import { recordRejectedDelivery } from '../store/deliveries';", 'runs no SQL'],
    ['src/store/x.ts', "import { settleCall } from '../ingest/settle';", 'only runs SQL'],
    ['src/ingest/x.ts', "import { sendText } from '../http/reply';", 'top layer'],
    ['src/outbound/x.ts', "import { createApp } from '../http/app';", 'top layer'],
  ])('refuses in %s: %s', (path, code, why) => {
    expect(complaints(path, code).join('\n')).toContain(why);
  });

  it.each([
    ['src/providers/lyra/x.ts', "import { FieldError } from '../fields';\nimport type { Allowlist } from '../../lib/cidr';\nimport { createHmac } from 'node:crypto';"],
    ['src/http/x.ts', "import type { DatabaseHandle } from '../store/database';\nimport { settleCall } from '../ingest/settle';"],
    ['src/ingest/x.ts', "import { writeDelivery } from '../store/ingest-statements';\nimport { fetchPaylineResult } from '../outbound/payline';"],
    ['src/store/x.ts', "import { listOutbox } from './outbox';\nimport type { OrderStatus } from '../domain/notification';"],
  ])('allows in %s what its layer may use', (path, code) => {
    expect(complaints(path, code)).toEqual([]);
  });
});
