import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { createMetrics, registerOutboxGauges } from '../../src/metrics';
import { createRelay, RELAY_USER_AGENT } from '../../src/outbox/relay';
import { openDatabase } from '../../src/store/database';
import { outboxStats } from '../../src/store/outbox';
import { createTestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { sendForm } from '../helpers/lyra';
import { outboxRows, relayOptions, seedEvents, testRelay, WEBHOOK_SECRET } from '../helpers/outbox';
import { capturingLogger } from '../helpers/log-capture';
import { startSink, type Sink } from '../helpers/sink';

let database: TestDatabase;
let sink: Sink | null = null;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());
beforeEach(() => database.reset());
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await sink?.close();
  sink = null;
});

function run(relay: ReturnType<typeof testRelay>) {
  stops.push(() => relay.stop());
  return relay.start();
}

const headersOf = (r: { headers: Record<string, unknown> }) =>
  Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(r.headers[h])]));

describe('relay delivery', () => {
  it('delivers the event of a real notification, signed so the Standard Webhooks reference library verifies it', async () => {
    sink = await startSink();
    const { app } = createTestApp(database);
    await sendForm(app, { orderId: 'CMD-SIGNED', status: 'AUTHORISED' }).expect(200);
    await run(testRelay(database, relayOptions(sink.url)));
    await sink.waitFor((s) => s.accepted.length === 1);

    const [received] = sink.requests;
    if (received === undefined) throw new Error('nothing received');
    const verified = new Webhook(WEBHOOK_SECRET).verify(received.body, headersOf(received)) as { type: string; order: { orderId: string; status: string } };
    expect(verified.type).toBe('order.paid');
    expect(verified.order).toMatchObject({ orderId: 'CMD-SIGNED', status: 'PAID', previousStatus: 'PENDING' });
    expect(received.headers['content-type']).toBe('application/json');
    expect(received.headers['user-agent']).toBe(RELAY_USER_AGENT);
    const [row] = await outboxRows(database.db);
    expect(received.id).toBe(row?.id);
    expect(received.event.id).toBe(row?.id);
    expect(Math.abs(Number(received.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(10);

    // A body altered in transit, or another secret, fails verification.
    expect(() => new Webhook(WEBHOOK_SECRET).verify(received.body.replace('PAID', 'FAILED'), headersOf(received))).toThrow();
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(received.body, headersOf(received))).toThrow();

    await waitForState(row?.id, 'delivered');
    const after = await outboxRows(database.db);
    expect(after[0]).toMatchObject({ state: 'delivered', attempts: 1, claimed_by: null });
  });

  it('retries after a 500 and after a timeout, keeping the event id, until a 2xx', async () => {
    sink = await startSink((r) => {
      if (r.previousAttempts === 0) return { status: 500, body: 'database is down' };
      if (r.previousAttempts === 1) return { status: 200, delayMs: 1500 };
      return { status: 204 };
    });
    const [event] = await seedEvents(database.db, 1, 1);
    await run(testRelay(database, relayOptions(sink.url, { timeoutMs: 300 })));
    await sink.waitFor((s) => s.accepted.length >= 1 && s.requests.length >= 3);

    expect(sink.requests.map((r) => r.id)).toEqual([event?.id, event?.id, event?.id]);
    await waitForState(event?.id, 'delivered');
    const [row] = await outboxRows(database.db);
    expect(row).toMatchObject({ state: 'delivered', attempts: 3 });
    expect(row?.last_error).toBe('timeout: no reply within 300 ms');
  });

  it('records the reply of a failed attempt and waits as long as Retry-After asks', async () => {
    sink = await startSink((r) => (r.previousAttempts === 0 ? { status: 503, headers: { 'Retry-After': '2' }, body: 'maintenance' } : { status: 200 }));
    const [event] = await seedEvents(database.db, 1, 1);
    await run(testRelay(database, relayOptions(sink.url, { pollMs: 100 })));

    await sink.waitFor((s) => s.requests.length === 1);
    await waitFor(async () => (await outboxRows(database.db))[0]?.last_error === 'HTTP 503: maintenance');
    const [waiting] = await outboxRows(database.db);
    expect(waiting).toMatchObject({ state: 'pending', attempts: 1 });
    const scheduledIn = (waiting?.next_attempt_at.getTime() ?? 0) - (sink.requests[0]?.receivedAt ?? 0);
    expect(scheduledIn).toBeGreaterThan(1500);
    expect(scheduledIn).toBeLessThan(3500);

    await sink.waitFor((s) => s.accepted.length === 1, 6000);
    const gap = (sink.requests[1]?.receivedAt ?? 0) - (sink.requests[0]?.receivedAt ?? 0);
    expect(gap).toBeGreaterThanOrEqual(1900);
    await waitForState(event?.id, 'delivered');
  });

  it('marks the event dead with its last error after the attempt limit, then lets later events of the order go', async () => {
    sink = await startSink((r) => (r.event.n === 0 ? { status: 500, body: 'rejected: unknown order' } : { status: 200 }));
    const [first, second] = await seedEvents(database.db, 1, 2);
    const metrics = createMetrics();
    await run(testRelay(database, relayOptions(sink.url, { policy: { maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 40 } }), metrics));
    await sink.waitFor((s) => s.accepted.length === 1);
    await waitForState(second?.id, 'delivered');

    expect(sink.requests.map((r) => r.id)).toEqual([first?.id, first?.id, first?.id, second?.id]);
    const rows = await outboxRows(database.db);
    expect(rows[0]).toMatchObject({ state: 'dead', attempts: 3, last_error: 'HTTP 500: rejected: unknown order', claimed_by: null });
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain('outbox_relay_attempts_total{outcome="retry"} 2');
    expect(exposition).toContain('outbox_relay_attempts_total{outcome="dead"} 1');
    expect(exposition).toContain('outbox_relay_attempts_total{outcome="delivered"} 1');
  });

  it('holds later events of an order while an earlier one is retried, without holding other orders', async () => {
    let firstEventOfA = '';
    sink = await startSink((r) => {
      if (r.id === firstEventOfA && r.previousAttempts < 3) return { status: 500 };
      return { status: 200 };
    });
    const events = await seedEvents(database.db, 2, 3, 'ORD');
    const eventsOf = (order: string) => events.filter((e) => e.orderId === order).map((e) => e.id);
    firstEventOfA = eventsOf('ORD-0')[0] as string;
    await run(testRelay(database, relayOptions(sink.url, { policy: { maxAttempts: 10, backoffBaseMs: 100, backoffMaxMs: 200 } })));
    await sink.waitFor((s) => s.accepted.length === 6);

    const seenOfA = sink.requests.filter((r) => r.event.order.orderId === 'ORD-0').map((r) => r.id);
    expect(seenOfA).toEqual([firstEventOfA, firstEventOfA, firstEventOfA, firstEventOfA, ...eventsOf('ORD-0').slice(1)]);
    // Order B was not held back by A's failures: all of it arrived before A's first success.
    const firstSuccessOfA = sink.accepted.findIndex((r) => r.id === firstEventOfA);
    const lastOfB = Math.max(...eventsOf('ORD-1').map((id) => sink?.accepted.findIndex((r) => r.id === id) ?? -1));
    expect(lastOfB).toBeLessThan(firstSuccessOfA);
  });

  it('three relays over 500 events of 50 orders deliver each event once, in order per order, one at a time per order', async () => {
    sink = await startSink(() => ({ status: 200, delayMs: Math.floor(Math.random() * 4) }));
    const events = await seedEvents(database.db, 50, 10);
    // Each relay has its own connection pool, as separate processes would.
    const handles = await Promise.all([0, 1, 2].map(() => openSecondHandle()));
    const relays = handles.map((handle, index) => createRelay(relayOptions(sink?.url ?? '', { concurrency: 6 }), { db: handle.db, listen: handle.listen, logger: capturingLogger(), metrics: createMetrics(), relayId: `relay-${index}` }));
    for (const relay of relays) await run(relay);
    await sink.waitFor((s) => s.accepted.length >= 500, 60_000);
    await Promise.all(stops.splice(0).map((stop) => stop()));
    await Promise.all(handles.map((h) => h.close()));

    expect(sink.requests).toHaveLength(500);
    expect(new Set(sink.requests.map((r) => r.id)).size).toBe(500);
    expect(sink.maxConcurrentPerOrder).toBe(1);
    for (let o = 0; o < 50; o++) {
      const expected = events.filter((e) => e.orderId === `CMD-${o}`).map((e) => e.id);
      expect(sink.requests.filter((r) => r.event.order.orderId === `CMD-${o}`).map((r) => r.id)).toEqual(expected);
    }
    const states = await database.db.selectFrom('outbox').select(['state', sql<number>`count(*)::int`.as('n')]).groupBy('state').execute();
    expect(states).toEqual([{ state: 'delivered', n: 500 }]);
    // Each claimed once: no claim expired and was taken again.
    const attempts = await database.db.selectFrom('outbox').select(sql<number>`max(attempts)`.as('max')).executeTakeFirstOrThrow();
    expect(attempts.max).toBe(1);
  });

  it('never posts an event more than a timeout after its claim: one that waited for a slot is handed back and claimed again', async () => {
    // One slot, 450 ms per POST, a 500 ms timeout: the third event claimed ahead would wait 900 ms.
    sink = await startSink(() => ({ status: 200, delayMs: 450 }));
    const events = await seedEvents(database.db, 4, 1);
    await run(testRelay(database, relayOptions(sink.url, { concurrency: 1, timeoutMs: 500 })));
    await sink.waitFor((s) => s.accepted.length === events.length, 10_000);
    for (const event of events) await waitForState(event.id, 'delivered');

    expect(sink.requests.map((r) => r.id).sort()).toEqual(events.map((e) => e.id).sort());
    const rows = await database.db.selectFrom('outbox').select(['id', 'attempts', 'last_attempt_at']).execute();
    for (const row of rows) {
      const received = sink.requests.find((r) => r.id === row.id)?.receivedAt ?? Infinity;
      expect(received - (row.last_attempt_at?.getTime() ?? 0)).toBeLessThan(500);
      // A hand-back takes its attempt back: each event was attempted once.
      expect(row.attempts).toBe(1);
    }
  });

  it('is woken by NOTIFY on insert, not by its poll', async () => {
    sink = await startSink();
    await run(testRelay(database, relayOptions(sink.url, { pollMs: 60_000 })));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await seedEvents(database.db, 1, 1);
    await sink.waitFor((s) => s.accepted.length === 1, 5000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stop() waits for the attempts in flight and records them', async () => {
    sink = await startSink(() => ({ status: 200, delayMs: 600 }));
    const [event] = await seedEvents(database.db, 1, 1);
    const relay = testRelay(database, relayOptions(sink.url));
    await relay.start();
    await sink.waitFor((s) => s.requests.length === 1);
    await relay.stop();
    expect(sink.accepted).toHaveLength(1);
    const [row] = await outboxRows(database.db);
    expect(row).toMatchObject({ id: event?.id, state: 'delivered' });
  });

  it('ROLE=relay answers health and metrics but receives no notification', async () => {
    const { app } = createTestApp(database, { ROLE: 'relay', DATABASE_URL: 'postgres://relay.internal/ipn' });
    await sendForm(app, { orderId: 'CMD-RELAY', status: 'AUTHORISED' }).expect(404);
    await request(app).get('/healthz').expect(200);
    await request(app).get('/metrics').expect(200);
    expect(await outboxRows(database.db)).toEqual([]);
  });

  it('exposes the backlog and the age of the oldest pending event', async () => {
    const { app, metrics } = createTestApp(database);
    registerOutboxGauges(metrics.registry, () => outboxStats(database.db));
    await seedEvents(database.db, 3, 2);
    await sql`UPDATE outbox SET created_at = now() - interval '90 seconds' WHERE seq = (SELECT min(seq) FROM outbox)`.execute(database.db);
    await sql`UPDATE outbox SET state = 'dead' WHERE seq = (SELECT max(seq) FROM outbox)`.execute(database.db);
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(text).toMatch(/^outbox_pending_events 5$/m);
    expect(text).toMatch(/^outbox_dead_events 1$/m);
    const age = Number(/^outbox_oldest_pending_age_seconds (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(120);
  });
});

async function openSecondHandle() {
  return openDatabase({ url: database.url, dataDir: '', poolSize: 4, statementTimeoutMs: 10_000 });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForState(id: string | undefined, state: string): Promise<void> {
  await waitFor(async () => (await outboxRows(database.db)).find((r) => r.id === id)?.state === state);
}
