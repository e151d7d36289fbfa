import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { createTestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { formBody, postLyra } from '../helpers/lyra';

let database: TestDatabase;

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

async function count(table: 'notifications' | 'outbox' | 'orders' | 'transactions'): Promise<number> {
  const row = await database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Another connection holds an exclusive lock on the notifications table (on the embedded
 * database, the one connection itself is held), so the ingest write stalls.
 */
async function holdDatabase(): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let taken!: () => void;
  const lockTaken = new Promise<void>((resolve) => (taken = resolve));
  const holder = database.db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE`.execute(trx);
    taken();
    await released;
  });
  await lockTaken;
  return {
    async release() {
      release();
      await holder;
    },
  };
}

describe('reply deadline', () => {
  it('a rejection keeps its own status while the database stalls', async () => {
    const { app } = createTestApp(database, { IPN_DEADLINE_MS: '2000' });
    const hold = await holdDatabase();
    try {
      const started = Date.now();
      const res = await postLyra(app, formBody({ orderId: 'D-0', status: 'AUTHORISED' }).replace(/signature=[^&]+/, 'signature=x'));
      expect(res.status).toBe(401);
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await hold.release();
    }
  });

  it('answers 503 before the deadline while the database stalls, writes nothing, and a retry applies exactly once', async () => {
    const deadlineMs = 400;
    const { app } = createTestApp(database, { IPN_DEADLINE_MS: String(deadlineMs) });
    const body = formBody({ orderId: 'D-1', status: 'AUTHORISED' });

    const hold = await holdDatabase();
    const started = Date.now();
    const stalled = await postLyra(app, body);
    const elapsed = Date.now() - started;
    expect(stalled.status).toBe(503);
    expect(stalled.text).toBe('KO-temporarily unavailable, not recorded, retry later: deadline reached');
    expect(elapsed).toBeGreaterThanOrEqual(deadlineMs - 5);
    expect(elapsed).toBeLessThan(deadlineMs + 250);

    await hold.release();
    // The stalled write resumes once the lock is gone, sees the deadline passed and rolls back.
    await sleep(300);
    expect(await count('notifications')).toBe(0);
    expect(await count('outbox')).toBe(0);
    expect(await count('orders')).toBe(0);

    const retry = await postLyra(app, body);
    expect(retry.status).toBe(200);
    expect(retry.text).toBe('OK-applied: order D-1: AUTHORISED, order PAID');
    const again = await postLyra(app, body);
    expect(again.text).toContain('OK-duplicate');
    expect(await count('notifications')).toBe(1);
    expect(await count('outbox')).toBe(1);
    expect(await count('transactions')).toBe(1);
  });
});
