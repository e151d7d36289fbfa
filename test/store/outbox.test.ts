import { sql } from 'kysely';
import { claimDueEvents, dueEventsQuery, markAllDelivered, markDelivered, markFailed, releaseClaims } from '../../src/store/outbox';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { explain } from '../helpers/explain';
import { outboxRows, seedEvents } from '../helpers/outbox';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());
beforeEach(() => database.reset());

describe('outbox claims', () => {
  it('claims only the earliest pending event of each order', async () => {
    const events = await seedEvents(database.db, 3, 4);
    const claimed = await claimDueEvents(database.db, 'r1', 100, 60_000);
    const heads = [0, 1, 2].map((o) => events.find((e) => e.orderId === `CMD-${o}`)?.id);
    expect(claimed.map((e) => e.id).sort()).toEqual([...heads].sort());
    expect(claimed.every((e) => e.attempts === 1)).toBe(true);
    // Claimed events are leased: nothing else of these orders is due.
    expect(await claimDueEvents(database.db, 'r2', 100, 60_000)).toEqual([]);
  });

  it('fences a late result: once a lease has expired and the event was claimed again, the first claim cannot record', async () => {
    await seedEvents(database.db, 1, 1);
    const [first] = await claimDueEvents(database.db, 'r1', 1, 0);
    const [second] = await claimDueEvents(database.db, 'r2', 1, 60_000);
    expect(second).toMatchObject({ id: first?.id, attempts: 2 });
    if (first === undefined || second === undefined) throw new Error('not claimed');
    expect(await markDelivered(database.db, first)).toBe(false);
    expect(await markFailed(database.db, first, { error: 'late', dead: true, retryInMs: 0 })).toBe(false);
    expect((await outboxRows(database.db))[0]).toMatchObject({ state: 'pending', claimed_by: 'r2', last_error: null });
    expect(await markDelivered(database.db, second)).toBe(true);
    expect((await outboxRows(database.db))[0]).toMatchObject({ state: 'delivered', attempts: 2, claimed_by: null });
  });

  it('records many deliveries in one statement, each fenced by its own claim', async () => {
    await seedEvents(database.db, 3, 1);
    const claimed = await claimDueEvents(database.db, 'r1', 3, 60_000);
    const [expired, ...live] = claimed;
    if (expired === undefined) throw new Error('not claimed');
    // The first claim expired and another relay took it over: its late record must not land.
    await sql`UPDATE outbox SET next_attempt_at = now() WHERE id = ${expired.id}`.execute(database.db);
    const [takenOver] = await claimDueEvents(database.db, 'r2', 1, 60_000);
    expect(takenOver?.id).toBe(expired.id);

    const recorded = await markAllDelivered(database.db, claimed);
    expect([...recorded].sort()).toEqual(live.map((e) => e.id).sort());
    const rows = await outboxRows(database.db);
    expect(rows.filter((r) => r.state === 'delivered').map((r) => r.id).sort()).toEqual(live.map((e) => e.id).sort());
    expect(rows.find((r) => r.id === expired.id)).toMatchObject({ state: 'pending', claimed_by: 'r2', attempts: 2 });
    expect(await markAllDelivered(database.db, [])).toEqual(new Set());
  });

  it('hands back an unposted claim: due now, its attempt taken back, unless the claim has a new owner', async () => {
    await seedEvents(database.db, 2, 1);
    const [mine, lost] = await claimDueEvents(database.db, 'r1', 2, 60_000);
    if (mine === undefined || lost === undefined) throw new Error('not claimed');
    await sql`UPDATE outbox SET claimed_by = 'r2', attempts = attempts + 1 WHERE id = ${lost.id}`.execute(database.db);

    expect(await releaseClaims(database.db, 'r1', [mine, lost])).toBe(1);
    const rows = await outboxRows(database.db);
    expect(rows.find((r) => r.id === mine.id)).toMatchObject({ state: 'pending', attempts: 0, claimed_by: null });
    expect(rows.find((r) => r.id === lost.id)).toMatchObject({ claimed_by: 'r2', attempts: 2 });
    const [again] = await claimDueEvents(database.db, 'r3', 1, 60_000);
    expect(again).toMatchObject({ id: mine.id, attempts: 1 });
  });

  it('a retried event holds back the later events of its order until its own next attempt', async () => {
    await seedEvents(database.db, 1, 3);
    const [head] = await claimDueEvents(database.db, 'r1', 1, 60_000);
    if (head === undefined) throw new Error('not claimed');
    expect(await markFailed(database.db, head, { error: 'HTTP 500', dead: false, retryInMs: 60_000 })).toBe(true);
    const rows = await outboxRows(database.db);
    const retryAt = rows[0]?.next_attempt_at.getTime();
    expect(rows.map((r) => r.next_attempt_at.getTime())).toEqual([retryAt, retryAt, retryAt]);
    expect(await claimDueEvents(database.db, 'r1', 10, 60_000)).toEqual([]);
  });

  it('a dead event no longer holds its order back', async () => {
    const events = await seedEvents(database.db, 1, 2);
    const [head] = await claimDueEvents(database.db, 'r1', 1, 60_000);
    if (head === undefined) throw new Error('not claimed');
    await markFailed(database.db, head, { error: 'HTTP 410', dead: true, retryInMs: 0 });
    expect((await claimDueEvents(database.db, 'r1', 10, 60_000)).map((e) => e.id)).toEqual([events[1]?.id]);
  });

  it('walks the due index in order, without sorting the backlog, and finds earlier events of an order by index', async () => {
    await seedEvents(database.db, 500, 10);
    await sql`VACUUM (ANALYZE) outbox`.execute(database.db);
    const plan = await explain(database.db, dueEventsQuery(database.db, 8));
    expect(plan).toContain('Index Scan using outbox_due');
    expect(plan).not.toMatch(/\bSort\b/);
    expect(plan).toContain('Index Scan using outbox_aggregate on outbox earlier');
  });
});
