import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createMetrics, type Metrics } from '../../src/metrics';
import { createRelay, type Relay, type RelayOptions } from '../../src/outbox/relay';
import { parseWebhookSecret } from '../../src/outbox/signer';
import type { DatabaseHandle } from '../../src/store/database';
import type { Database } from '../../src/store/schema';
import { capturingLogger } from './log-capture';

export const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export interface SeededEvent {
  id: string;
  orderId: string;
  seq: number;
}

/** Outbox rows as the ingest writes them, `perOrder` events for each of `orders` orders, interleaved. */
export async function seedEvents(db: Kysely<Database>, orders: number, perOrder: number, prefix = 'CMD'): Promise<SeededEvent[]> {
  const rows = [];
  for (let n = 0; n < perOrder; n++) {
    for (let o = 0; o < orders; o++) {
      const id = randomUUID();
      const orderId = `${prefix}-${o}`;
      const payload = { id, type: 'order.pending', occurredAt: new Date().toISOString(), order: { provider: 'lyra', shopId: '12345678', mode: 'TEST', orderId, status: 'PENDING' }, n };
      rows.push({ id, aggregatetype: 'order', aggregateid: `lyra:12345678:TEST:${orderId}`, type: 'order.pending', payload: JSON.stringify(payload) });
    }
  }
  const inserted = [];
  // Several statements, as ingests would, and small enough for any parameter limit.
  for (let i = 0; i < rows.length; i += 200) {
    inserted.push(...(await db.insertInto('outbox').values(rows.slice(i, i + 200)).returning(['id', 'aggregateid', 'seq']).execute()));
  }
  return inserted.map((r) => ({ id: r.id, orderId: r.aggregateid.split(':')[3] as string, seq: r.seq }));
}

export function relayOptions(url: string, overrides: Partial<RelayOptions> = {}): RelayOptions {
  return {
    url,
    key: parseWebhookSecret(WEBHOOK_SECRET),
    timeoutMs: 2000,
    concurrency: 8,
    pollMs: 200,
    policy: { maxAttempts: 10, backoffBaseMs: 20, backoffMaxMs: 100 },
    ...overrides,
  };
}

export function testRelay(database: DatabaseHandle, options: RelayOptions, metrics: Metrics = createMetrics()): Relay {
  return createRelay(options, { db: database.db, listen: database.listen, logger: capturingLogger(), metrics });
}

export async function outboxRows(db: Kysely<Database>) {
  return db.selectFrom('outbox').select(['id', 'aggregateid', 'seq', 'state', 'attempts', 'last_error', 'next_attempt_at', 'delivered_at', 'claimed_by']).orderBy('seq').execute();
}
