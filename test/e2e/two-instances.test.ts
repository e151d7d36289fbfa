import { lyraFormBody } from '../../src/tools/lyra-notifications';
import { HMAC_SHOP } from '../helpers/app';
import { newDataDir, removeDataDir } from '../helpers/data-dir';
import { openTestDatabase, withServiceDatabase, type TestDatabase } from '../helpers/database';
import { WEBHOOK_SECRET } from '../helpers/outbox';
import { freePort, startService, waitReady, type Service } from '../helpers/service';
import { startSink, type Sink } from '../helpers/sink';

const ORDERS = 60;

/**
 * Two receivers (ROLE=receiver) behind a round-robin and two relays (ROLE=relay) on one database
 * (the test's PostgreSQL database, or one DATA_DIR whose embedded server the four processes
 * share), under load; one receiver and one relay are killed with SIGKILL mid-run. The platform
 * sends each call to the next receiver and, when it gets no 2xx, again to the other one.
 */
describe('two receivers and two relays, one of each killed under load', () => {
  let database: TestDatabase | null = null;
  let dataDir: string;
  let sink: Sink;
  const services: Service[] = [];

  beforeAll(async () => {
    dataDir = newDataDir('ipn-two-');
    if (process.env.TEST_DATABASE_URL) database = await openTestDatabase();
    sink = await startSink(() => ({ status: 200, delayMs: 15 }));
  });
  afterAll(async () => {
    for (const service of services) if (service.process.exitCode === null) service.process.kill('SIGKILL');
    await Promise.all(services.map((service) => service.exited));
    await sink.close();
    await database?.close();
    await removeDataDir(dataDir);
  });

  async function start(role: 'receiver' | 'relay'): Promise<{ service: Service; port: number }> {
    const port = await freePort();
    const service = startService({
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      ROLE: role,
      LYRA_SHOPS: JSON.stringify([HMAC_SHOP]),
      LYRA_ALLOWED_CIDRS: '127.0.0.1/32',
      ...(database === null ? { DATABASE_URL: '', DATA_DIR: dataDir } : { DATABASE_URL: database.url }),
      ORDER_EVENTS_URL: sink.url,
      ORDER_EVENTS_SECRET: WEBHOOK_SECRET,
      ORDER_EVENTS_TIMEOUT_MS: '1000',
      ORDER_EVENTS_CONCURRENCY: '4',
      ORDER_EVENTS_POLL_MS: '200',
    });
    services.push(service);
    await waitReady(port, service);
    return { service, port };
  }

  /** Each order is refused, then paid by a second attempt: two notifications, sent one after the other. */
  const notificationsOf = (order: number): string[] => [
    lyraFormBody({ shopId: HMAC_SHOP.shopId, orderId: `TWO-${order}`, status: 'REFUSED', transactionUuid: `${order.toString(16)}`.padStart(32, 'a') }, HMAC_SHOP.testKey),
    lyraFormBody({ shopId: HMAC_SHOP.shopId, orderId: `TWO-${order}`, status: 'AUTHORISED', transactionUuid: `${order.toString(16)}`.padStart(32, 'b') }, HMAC_SHOP.testKey),
  ];

  it('loses nothing, applies nothing twice, keeps each order in order; the survivors carry the load', async () => {
    const first = await start('receiver');
    const [second, relayA, relayB] = await Promise.all([start('receiver'), start('relay'), start('relay')]);
    const receivers = [first, second];
    let turn = 0;
    let answered = 0;
    let killedAt = 0;
    /** 2xx per receiver port once the killed receiver's exit has been seen. */
    const answeredBy = new Map<number, number>();
    let firstGone = false;
    void first.service.exited.then(() => (firstGone = true));
    /** Round-robin; a call that gets no 2xx goes to the other receiver, as the platform's retry through the balancer does. */
    const deliver = async (body: string): Promise<void> => {
      for (let attempt = 0; attempt < 40; attempt++) {
        const receiver = receivers[turn++ % receivers.length] as { port: number };
        try {
          const res = await fetch(`http://127.0.0.1:${receiver.port}/ipn/lyra`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
          await res.text();
          if (res.ok) {
            if (firstGone) answeredBy.set(receiver.port, (answeredBy.get(receiver.port) ?? 0) + 1);
            if (++answered === Math.floor(ORDERS * 0.8) && killedAt === 0) {
              // Mid-run: one receiver and one relay, with calls and deliveries in flight.
              killedAt = Date.now();
              first.service.process.kill('SIGKILL');
              relayA.service.process.kill('SIGKILL');
            }
            return;
          }
        } catch {
          // no reply: the killed receiver
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error('a notification got no 2xx in 40 attempts');
    };
    let nextOrder = 0;
    const worker = async (): Promise<void> => {
      while (nextOrder < ORDERS) {
        const order = nextOrder++;
        for (const body of notificationsOf(order)) await deliver(body);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    expect(killedAt).toBeGreaterThan(0);
    expect(await first.service.exited).toBeNull();
    expect(await relayA.service.exited).toBeNull();
    // Once the killed receiver was gone, every 2xx came from the surviving one.
    expect([...answeredBy.keys()]).toEqual([second.port]);

    const stored = await withServiceDatabase(database, dataDir, async (handle) => ({
      notifications: await handle.db.selectFrom('notifications').select(['order_id', 'status_raw']).where('order_id', 'like', 'TWO-%').execute(),
      events: await handle.db.selectFrom('outbox').select(['id', 'aggregateid', 'type']).where('aggregateid', 'like', '%:TWO-%').orderBy('seq').execute(),
    }));
    expect(stored.notifications).toHaveLength(ORDERS * 2);
    const perOrder = new Map<string, string[]>();
    for (const event of stored.events) perOrder.set(event.aggregateid, [...(perOrder.get(event.aggregateid) ?? []), event.id]);
    expect(perOrder.size).toBe(ORDERS);
    // Nothing applied twice: no order has two events of one type.
    expect(new Set(stored.events.map((e) => `${e.aggregateid} ${e.type}`)).size).toBe(stored.events.length);

    await sink.waitFor((s) => new Set(s.accepted.map((r) => r.id)).size === stored.events.length, 45_000);
    expect(sink.accepted.some((r) => r.receivedAt > killedAt)).toBe(true);
    for (const [aggregate, ids] of perOrder) {
      const orderId = aggregate.split(':').at(-1);
      const arrivals = [...new Set(sink.requests.filter((r) => r.event.order.orderId === orderId).map((r) => r.id))];
      expect({ orderId, arrivals }).toEqual({ orderId, arrivals: ids });
    }
    expect(sink.maxConcurrentPerOrder).toBe(1);

    for (const survivor of [second, relayB]) survivor.service.process.kill('SIGTERM');
    expect(await second.service.exited).toBe(0);
    expect(await relayB.service.exited).toBe(0);
  });
});
