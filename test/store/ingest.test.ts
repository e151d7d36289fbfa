import { sql, type CompiledQuery } from 'kysely';
import fc from 'fast-check';
import pg from 'pg';
import { orderAggregateId } from '../../src/domain/events';
import type { NormalizedNotification } from '../../src/domain/notification';
import { describeSummary } from '../../src/ingest/settle';
import { DeadlineExceededError } from '../../src/ingest/errors';
import { ingestNotifications } from '../../src/ingest/orders';
import type { DeliveryInput } from '../../src/store/deliveries';
import { readStoredState, writeDelivery, type DecidedWrite } from '../../src/store/ingest-statements';
import { PAST_DEADLINE, sqlStateOf, STATE_MOVED } from '../../src/store/sqlstate';
import type { WriteBatcher } from '../../src/store/batched-writes';
import { NotificationIds } from '../../src/store/notification-ids';
import { OrderCache } from '../../src/store/order-cache';
import { openTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());
beforeEach(() => database.reset());

const IDENTITY = { provider: 'lyra', shopId: '12345678', mode: 'TEST', orderId: 'ING-1' } as const;

function notification(transactionId: string, status: 'authorised' | 'refused' = 'authorised', orderId: string = IDENTITY.orderId): NormalizedNotification {
  return {
    ...IDENTITY,
    orderId,
    format: 'form',
    transactionId,
    status,
    statusRaw: status === 'authorised' ? 'AUTHORISED' : 'REFUSED',
    operation: 'debit',
    operationRaw: 'DEBIT',
    amount: 1500,
    currency: 'EUR',
    sequenceNumber: 1,
    paymentConfig: 'SINGLE',
    source: 'PAY',
    eventTime: null,
    failureIsFinal: false,
  } as NormalizedNotification;
}

const CALL: DeliveryInput = { provider: 'lyra', origin: 'http', request_id: null, source_ip: '127.0.0.1', content_type: null, raw_body: null, raw_query: null, signature_header: null };
const RECORD = { ...CALL, verdict: 'applied', reason: 'test', http_status: 200, reply: 'OK-test' };

async function counts() {
  const n = async (table: 'notifications' | 'outbox' | 'orders' | 'transactions' | 'deliveries') =>
    Number((await database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return { notifications: await n('notifications'), outbox: await n('outbox'), orders: await n('orders'), transactions: await n('transactions'), deliveries: await n('deliveries') };
}

/**
 * A notification with this dedup key recorded by another connection whose transaction stays open,
 * as a platform's retry being recorded by another call; committed once a write waits on its lock.
 */
async function holdNotification(dedupKey: string) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO notifications (dedup_key, provider, format, shop_id, mode, order_id, operation, status, status_raw, failure_is_final)
     VALUES ($1, 'lyra', 'form', $2, 'TEST', 'HELD-1', 'debit', 'refused', 'REFUSED', false)`,
    [dedupKey, IDENTITY.shopId],
  );
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
  return {
    async commitOnceWaitedOn(): Promise<void> {
      try {
        for (let tries = 0; ; tries += 1) {
          const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid]);
          if ((rows[0]?.n ?? 0) > 0) break;
          if (tries > 500) throw new Error('no write waited on the held notification');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
    },
  };
}

/** A write of one new refused attempt, decided on the order as `read` saw it. */
function staleWrite(id: number, expected: DecidedWrite['expected'], orderId: string = IDENTITY.orderId): DecidedWrite {
  return {
    identity: { ...IDENTITY, orderId },
    expected,
    order: { status: 'PENDING', paidAmount: 0, refundedAmount: 0, currency: 'EUR', abandoned: false },
    notifications: [{ id, dedup_key: `test-${id}`, provider: 'lyra', format: 'form', shop_id: IDENTITY.shopId, mode: 'TEST', order_id: orderId, transaction_id: `tx-${id}`, operation: 'debit', status: 'refused', status_raw: 'REFUSED', amount: 1500, currency: 'EUR', sequence_number: 1, payment_config: null, source: null, event_time: null, failure_is_final: false, outcome: 'applied', outcome_detail: 'test', call_number: null }],
    transactions: [],
    events: [],
  };
}

describe('the one-statement ingest write', () => {
  it('a new order: one statement records the call, the notification, the order, its transaction and its event', async () => {
    const result = await ingestNotifications(database, CALL, [notification('t1')], describeSummary);
    expect(result).toMatchObject({ outcome: 'applied', orderStatus: 'PAID', httpStatus: 200 });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1, orders: 1, transactions: 1, deliveries: 1 });
  });

  it("keeps a notification's call number (Paybox's T), what Paybox Direct is asked by with the transaction number", async () => {
    await ingestNotifications(database, CALL, [{ ...notification('t1'), callNumber: '0010244812' }, notification('t2', 'refused')], describeSummary);
    const rows = await database.db.selectFrom('notifications').select(['transaction_id', 'call_number']).orderBy('id').execute();
    expect(rows).toEqual([
      { transaction_id: 't1', call_number: '0010244812' },
      { transaction_id: 't2', call_number: null },
    ]);
  });

  it('a write decided on an order that has moved since it was read writes nothing, and brings the order as it is now', async () => {
    await ingestNotifications(database, CALL, [notification('t1', 'refused')], describeSummary);
    const read = await readStoredState(database.db, IDENTITY, []);
    if (read.order === null) throw new Error('order not read');
    await ingestNotifications(database, CALL, [notification('t2')], describeSummary);
    const before = await counts();
    const [id] = await new NotificationIds(database.db).take(1);
    const stale = await writeDelivery(database, RECORD, [], staleWrite(id as number, { id: read.order.id, version: read.order.version }), null);
    expect(stale.deliveryId).toBeUndefined();
    expect(stale.now?.order).toEqual(await readStoredState(database.db, IDENTITY, []).then((s) => s.order));
    expect(stale.now?.order?.state.status).toBe('PAID');
    expect(stale.now?.existing.size).toBe(0);
    expect(await counts()).toEqual(before);
  });

  it('a write that guessed a new order writes nothing when the order exists, and brings it', async () => {
    await ingestNotifications(database, CALL, [notification('t1')], describeSummary);
    const before = await counts();
    const [id] = await new NotificationIds(database.db).take(1);
    const guess = await writeDelivery(database, RECORD, [], staleWrite(id as number, null), null);
    expect(guess.now?.order?.state.status).toBe('PAID');
    expect(guess.now?.order?.transactions.map((t) => t.transactionId)).toEqual(['t1']);
    expect(await counts()).toEqual(before);
  });

  it('a write whose notification another call recorded meanwhile writes nothing, and brings the recorded notification', async () => {
    await ingestNotifications(database, CALL, [notification('t1', 'refused')], describeSummary);
    const read = await readStoredState(database.db, IDENTITY, []);
    if (read.order === null) throw new Error('order not read');
    const [id] = await new NotificationIds(database.db).take(1);
    await writeDelivery(database, RECORD, [], staleWrite(id as number, { id: read.order.id, version: read.order.version }), null);
    const before = await counts();
    const now = await readStoredState(database.db, IDENTITY, []);
    // The same notification (its dedup key) decided again on the order as it is now.
    const twice = await writeDelivery(database, RECORD, [], staleWrite(id as number, { id: now.order?.id as number, version: now.order?.version as string }), null);
    expect(twice.deliveryId).toBeUndefined();
    expect(twice.now?.existing).toEqual(new Map([[`test-${id}`, id]]));
    expect(twice.now?.order).toEqual(now.order);
    expect(await counts()).toEqual(before);
  });

  it('a write whose notification a call still running records rolls back whole (40001) once that call commits, leaving nothing of it', async () => {
    await ingestNotifications(database, CALL, [notification('t1', 'refused')], describeSummary);
    const read = await readStoredState(database.db, IDENTITY, []);
    if (read.order === null) throw new Error('order not read');
    const [id] = await new NotificationIds(database.db).take(1);
    const before = await counts();
    const holder = await holdNotification(`test-${id}`);
    const racing = writeDelivery(database, RECORD, [], staleWrite(id as number, { id: read.order.id, version: read.order.version }), null).catch(sqlStateOf);
    await holder.commitOnceWaitedOn();
    await expect(racing).resolves.toBe(STATE_MOVED);
    expect(await counts()).toEqual({ ...before, notifications: before.notifications + 1 });
  });

  it('a follow-up on a stored order is decided on what its first write found: no read of the order', async () => {
    await ingestNotifications(database, CALL, [notification('t1', 'refused')], describeSummary);
    // As another process would see it: the order not in this one's cache, so first guessed new.
    database.orders.forget();
    const statements: string[] = [];
    const db = new Proxy(database.db, {
      get(target, name) {
        if (name === 'executeQuery') return (query: CompiledQuery) => (statements.push(query.sql), target.executeQuery(query));
        const value: unknown = Reflect.get(target, name);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const followUp = await ingestNotifications({ ...database, db }, CALL, [notification('t2')], describeSummary);
    expect(statements.filter((text) => text.includes('FROM orders'))).toEqual([]);
    expect(followUp).toMatchObject({ outcome: 'applied', orderStatus: 'PAID' });
    expect(await counts()).toEqual({ notifications: 2, outbox: 2, orders: 1, transactions: 2, deliveries: 2 });
  });

  it('a write reaching its end past its commit time rolls back (IR503); the ingest reports the deadline', async () => {
    const [id] = await new NotificationIds(database.db).take(1);
    const late = writeDelivery(database, RECORD, [], staleWrite(id as number, null), new Date(Date.now() - 1));
    await expect(late.catch(sqlStateOf)).resolves.toBe(PAST_DEADLINE);
    await expect(ingestNotifications(database, CALL, [notification('t1')], describeSummary, { commitBy: new Date(Date.now() - 1) })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(await counts()).toEqual({ notifications: 0, outbox: 0, orders: 0, transactions: 0, deliveries: 0 });
  });

  it('a delivery of notifications all known already writes only the call and its links', async () => {
    await ingestNotifications(database, CALL, [notification('t1')], describeSummary);
    const again = await ingestNotifications(database, CALL, [notification('t1'), notification('t1')], describeSummary);
    expect(again).toMatchObject({ outcome: 'duplicate', orderStatus: null });
    expect(await counts()).toEqual({ notifications: 1, outbox: 1, orders: 1, transactions: 1, deliveries: 2 });
  });

  it('notifications of one order sent at once are each decided on what the others left', async () => {
    const results = await Promise.all(['t1', 't2', 't3', 't4'].map((tx, i) => ingestNotifications(database, CALL, [notification(tx, i === 2 ? 'authorised' : 'refused')], describeSummary)));
    expect(results.every((r) => r.outcome === 'applied')).toBe(true);
    expect(await counts()).toMatchObject({ notifications: 4, orders: 1, transactions: 4, deliveries: 4 });
    expect((await readStoredState(database.db, IDENTITY, [])).order?.state.status).toBe('PAID');
  });
});

describe('notification ids drawn ahead', () => {
  it('are distinct across concurrent takes and blocks, and never handed out twice', async () => {
    const ids = new NotificationIds(database.db);
    const taken = (await Promise.all(Array.from({ length: 40 }, (_, i) => ids.take(1 + (i % 7))))).flat();
    const more = await ids.take(300);
    const all = [...taken, ...more];
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((id) => Number.isSafeInteger(id) && id > 0)).toBe(true);
  });
});

describe('batched writes', () => {
  it('concurrent calls share commits: their rows carry fewer transaction ids than there are calls', async () => {
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => ingestNotifications(database, CALL, [notification(`b${i}`, 'authorised', `BATCH-${i}`)], describeSummary)));
    expect(results.every((r) => r.outcome === 'applied')).toBe(true);
    const { rows } = await sql<{ calls: number; transactions: number }>`SELECT count(id)::int AS calls, count(DISTINCT xmin::text)::int AS transactions FROM deliveries`.execute(database.db);
    expect(rows[0]?.calls).toBe(24);
    expect(rows[0]?.transactions).toBeLessThan(24);
    expect(await counts()).toEqual({ notifications: 24, outbox: 24, orders: 24, transactions: 24, deliveries: 24 });
  });

  it('with several batches at once (DATABASE_WRITE_BATCHES=3), concurrent calls of one order and of new orders are all recorded once', async () => {
    const several = await openTestDatabase({ writeBatches: 3 });
    try {
      const calls = Array.from({ length: 30 }, (_, i) => [notification(`s${i}`, 'authorised', i % 3 === 0 ? IDENTITY.orderId : `SEVERAL-${i}`)]);
      const results = await Promise.all(calls.map((n) => ingestNotifications(several, CALL, n, describeSummary)));
      expect(results.every((r) => r.outcome === 'applied')).toBe(true);
      const { rows } = await sql<{ orders: number; notifications: number; deliveries: number; outbox: number }>`
        SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM notifications) AS notifications,
          (SELECT count(*)::int FROM deliveries) AS deliveries, (SELECT count(*)::int FROM outbox) AS outbox`.execute(several.db);
      // Ten calls share one order: one order row for them, and 20 new orders.
      expect(rows[0]).toMatchObject({ orders: 21, notifications: 30, deliveries: 30 });
      expect(rows[0]?.outbox).toBeGreaterThanOrEqual(21);
    } finally {
      await several.close();
    }
  });

  it('a write finding its order moved costs the other writes of its batch nothing: they commit together', async () => {
    await ingestNotifications(database, CALL, [notification('t0', 'refused')], describeSummary);
    const [id] = await new NotificationIds(database.db).take(1);
    const ids = await new NotificationIds(database.db).take(12);
    const others = ids.map((otherId, i) => writeDelivery(database, RECORD, [], staleWrite(otherId, null, `MOVED-${i}`), null));
    // Guessed new, in a batch with the others: it writes nothing and fails nothing.
    const guess = writeDelivery(database, RECORD, [], staleWrite(id as number, null), null);
    expect((await guess).now?.order?.state.status).toBe('PENDING');
    const written = await Promise.all(others);
    const { rows } = await sql<{ transactions: number }>`SELECT count(DISTINCT xmin::text)::int AS transactions FROM deliveries WHERE id = ANY(${written.map((w) => w.deliveryId)})`.execute(database.db);
    expect(rows[0]?.transactions).toBeLessThan(12);
    expect(await counts()).toMatchObject({ notifications: 13, orders: 13, deliveries: 13 });
  });

  it('a statement failing in a batch costs the others one round trip, not their commit; sent again alone, it finds its notification recorded', async () => {
    await ingestNotifications(database, CALL, [notification('t0', 'refused')], describeSummary);
    const read = await readStoredState(database.db, IDENTITY, []);
    if (read.order === null) throw new Error('order not read');
    const [id] = await new NotificationIds(database.db).take(1);
    const ids = await new NotificationIds(database.db).take(12);
    const holder = await holdNotification(`test-${id}`);
    // Writes of new orders, straight to the store: a write failing because of another's error
    // would reach its caller here (the ingest would hide it by deciding again).
    const others = ids.map((otherId, i) => writeDelivery(database, RECORD, [], staleWrite(otherId, null, `OTHER-${i}`), null));
    // The first writes fill the batches in flight; the others and the failing one queue together,
    // and wait with it on the notification the holder is recording.
    const failing = writeDelivery(database, RECORD, [], staleWrite(id as number, { id: read.order.id, version: read.order.version }), null);
    await holder.commitOnceWaitedOn();
    // Its batch rolled back on 40001; alone again, it sees the holder's notification and writes nothing.
    expect((await failing).now?.existing.has(`test-${id}`)).toBe(true);
    const written = await Promise.all(others);
    expect(written.every((w) => w.deliveryId !== undefined)).toBe(true);
    expect(await counts()).toMatchObject({ notifications: 14, orders: 13, deliveries: 13 });
    // The others of the failed batch went again together: a few commits for 12 writes, not 12.
    const { rows } = await sql<{ transactions: number }>`SELECT count(DISTINCT xmin::text)::int AS transactions FROM deliveries WHERE id = ANY(${written.map((w) => w.deliveryId)})`.execute(database.db);
    expect(rows[0]?.transactions).toBeLessThanOrEqual(4);
  });
});

describe('the order cache', () => {
  const writes = () => jest.spyOn(database.writeBatcher as WriteBatcher, 'write');
  afterEach(() => jest.restoreAllMocks());

  it('a follow-up on an order this process wrote takes one statement; on one it does not know, a guess and the write', async () => {
    await ingestNotifications(database, CALL, [notification('t1', 'refused')], describeSummary);
    const cached = writes();
    await ingestNotifications(database, CALL, [notification('t2', 'refused')], describeSummary);
    expect(cached).toHaveBeenCalledTimes(1);
    jest.restoreAllMocks();
    database.orders.forget();
    const unknown = writes();
    const result = await ingestNotifications(database, CALL, [notification('t3')], describeSummary);
    expect(unknown).toHaveBeenCalledTimes(2);
    expect(result).toMatchObject({ outcome: 'applied', orderStatus: 'PAID' });
  });

  it('an order changed by another writer since it was cached is decided again on what it is now', async () => {
    await ingestNotifications(database, CALL, [notification('t1', 'refused')], describeSummary);
    // Another instance records the payment: this process's entry is stale.
    const other = { ...database, orders: new OrderCache() };
    await ingestNotifications(other, CALL, [notification('t2')], describeSummary);
    const retry = await ingestNotifications(database, CALL, [notification('t2')], describeSummary);
    expect(retry).toMatchObject({ outcome: 'duplicate' });
    const refused = await ingestNotifications(database, CALL, [notification('t3', 'refused')], describeSummary);
    expect(refused.orderStatus).toBe('PAID');
    expect(await counts()).toMatchObject({ notifications: 3, orders: 1, transactions: 3, deliveries: 4 });
    const events = await database.db.selectFrom('outbox').select('type').orderBy('id').execute();
    expect(events.filter((e) => e.type === 'order.paid')).toHaveLength(1);
  });

  it('holds, after any run of notifications, sequential or concurrent, the orders as a read finds them, or not at all', async () => {
    const step = fc.record({
      order: fc.integer({ min: 0, max: 2 }),
      transaction: fc.integer({ min: 0, max: 3 }),
      status: fc.constantFrom('authorised' as const, 'refused' as const),
      together: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        await database.reset();
        const sent = steps.map((s) => notification(`t${s.order}-${s.transaction}`, s.status, `CACHE-${s.order}`));
        for (let i = 0; i < sent.length; ) {
          const group = steps[i]?.together === true ? sent.slice(i, i + 3) : sent.slice(i, i + 1);
          await Promise.all(group.map((n) => ingestNotifications(database, CALL, [n], describeSummary)));
          i += group.length;
        }
        for (const orderId of new Set(sent.map((n) => n.orderId))) {
          const identity = { ...IDENTITY, orderId };
          // An order is dropped when calls at once left it in versions the cache cannot order.
          const cached = database.orders.get(orderAggregateId(identity));
          if (cached === undefined && steps.every((s) => !s.together)) throw new Error(`${orderId}, written one call at a time, is not cached`);
          if (cached === undefined) continue;
          const read = await readStoredState(database.db, identity, [...cached.existing.keys()]);
          expect(cached.order).toEqual(read.order);
          expect(cached.existing).toEqual(read.existing);
        }
      }),
      { numRuns: 40 },
    );
  });
});
