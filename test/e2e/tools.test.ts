import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createTestApp } from '../helpers/app';
import { openTestDatabase, withServiceDatabase, type TestDatabase } from '../helpers/database';
import { sendForm } from '../helpers/lyra';
import { root } from '../helpers/service';

/** `npm run audit` and `npm run purge`, as an operator runs them on the server. */
describe('operator commands', () => {
  let database: TestDatabase | null = null;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ipn-tools-'));
    if (process.env.TEST_DATABASE_URL) database = await openTestDatabase();
    env = database === null ? { DATA_DIR: dataDir, DATABASE_URL: '' } : { DATABASE_URL: database.url ?? '' };
    await withServiceDatabase(database, dataDir, async (handle) => {
      const { app } = createTestApp({ ...handle, url: undefined, reset: () => Promise.resolve() });
      await sendForm(app, { orderId: 'CLI-1', status: 'AUTHORISED' }).expect(200);
      await sendForm(app, { orderId: 'CLI-2', status: 'REFUSED' }).expect(200);
      await sql`UPDATE deliveries SET received_at = now() - interval '100 days' WHERE id = 1`.execute(handle.db);
    });
  });
  afterAll(async () => {
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const run = (tool: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', `src/tools/${tool}.ts`, ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8' });

  it('audit prints an order, a notification and the dead events as JSON', () => {
    const order = run('audit', '--order', 'CLI-1');
    expect(order.status).toBe(0);
    const [view] = JSON.parse(order.stdout) as { status: string; transactions: { history: { statusRaw: string }[] }[] }[];
    expect(view?.status).toBe('PAID');
    expect(view?.transactions[0]?.history[0]?.statusRaw).toBe('AUTHORISED');

    const notification = run('audit', '--notification', '1');
    expect(JSON.parse(notification.stdout)).toMatchObject({ orderId: 'CLI-1', raw: { fields: { signature: '[redacted]' } } });
    expect(JSON.parse(run('audit', '--outbox', 'dead').stdout)).toEqual([]);
    expect(JSON.parse(run('audit', '--notifications', '--status', 'refused').stdout)).toHaveLength(1);

    const wrong = run('audit', '--notification', 'one');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('--notification must be a positive whole number');
    expect(run('audit').stderr).toContain('npm run audit -- <one of>');
  });

  it('purge empties the bodies past RETENTION_DAYS once, and only those', () => {
    const first = run('purge');
    expect(first.stdout).toContain('purged the raw bodies of 1 call(s) older than 90 days');
    expect(run('purge').stdout).toContain('purged the raw bodies of 0 call(s)');
    expect(JSON.parse(run('audit', '--notification', '1').stdout)).toMatchObject({ raw: null });
    expect(JSON.parse(run('audit', '--notification', '2').stdout)).toMatchObject({ raw: { fields: { vads_order_id: 'CLI-2' } } });
  });
});
