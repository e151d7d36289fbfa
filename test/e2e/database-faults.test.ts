import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { lyraFormBody } from '../../src/tools/lyra-notifications';
import { HMAC_SHOP } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort, startService, waitReady } from '../helpers/service';
import { proxyTargetOf, TcpProxy, type ProxyMode } from '../helpers/tcp-proxy';

const DEADLINE_MS = 1000;
// The deadline timer answers at DEADLINE_MS; the margin covers the event loop of a loaded machine.
const LATEST_REPLY_MS = DEADLINE_MS + 700;

/**
 * PostgreSQL cut and stalled, several times, under a continuous load of unique notifications and
 * resends, through a proxy the test controls (TCP to PostgreSQL's address, or to the embedded
 * server's unix socket).
 */
describe('database faults under load', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;

  beforeAll(async () => {
    database = await openTestDatabase();
    proxy = new TcpProxy(proxyTargetOf(database.url));
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.close();
    await database.close();
  });

  it('every 2xx is stored once, every other reply comes in time and its retry is stored once; the service recovers by itself', async () => {
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    url.searchParams.delete('host');
    const port = await freePort();
    const service = startService({
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      LYRA_SHOPS: JSON.stringify([HMAC_SHOP]),
      LYRA_ALLOWED_CIDRS: '127.0.0.1/32',
      DATABASE_URL: url.toString(),
      IPN_DEADLINE_MS: String(DEADLINE_MS),
    });
    await waitReady(port, service);

    const bodies = Array.from({ length: 400 }, (_, i) => lyraFormBody({ shopId: HMAC_SHOP.shopId, orderId: `DBF-${i}`, status: 'AUTHORISED' }, HMAC_SHOP.testKey));
    const post = async (body: string) => {
      const started = Date.now();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/ipn/lyra`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
        return { status: res.status, text: await res.text(), ms: Date.now() - started };
      } catch (error) {
        return { status: null, text: String(error), ms: Date.now() - started };
      }
    };

    const replies: { index: number; status: number | null; text: string; ms: number }[] = [];
    const readiness: { mode: ProxyMode; ready: boolean }[] = [];
    let mode: ProxyMode = 'pass';
    let running = true;
    let next = 0;
    const worker = async () => {
      while (running) {
        // One request in five resends an earlier notification, as the platform's retries do.
        const index = next > 10 && next % 5 === 0 ? Math.floor(Math.random() * next) : Math.min(next++, bodies.length - 1);
        replies.push({ index, ...(await post(bodies[index] as string)) });
      }
    };
    const probe = async () => {
      while (running) {
        const observed = mode;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
          readiness.push({ mode: observed, ready: res.ok });
        } catch {
          readiness.push({ mode: observed, ready: false });
        }
        await sleep(150);
      }
    };
    const load = Promise.all([...Array.from({ length: 8 }, worker), probe()]);
    for (const step of ['cut', 'pass', 'stall', 'pass', 'cut', 'pass', 'stall', 'pass'] as const) {
      await sleep(step === 'pass' ? 1200 : 1500);
      mode = step;
      proxy.set(step);
    }
    await sleep(1500);
    running = false;
    await load;

    if (replies.some((r) => r.status === null)) console.error(service.output().slice(-3000), service.process.exitCode);
    // Every reply is a contract reply in time: 200 applied or duplicate, or 503 not recorded.
    for (const r of replies) {
      expect({ status: r.status, text: r.status === 200 || r.status === 503 ? 'ok' : r.text }).toEqual({ status: r.status === 503 ? 503 : 200, text: 'ok' });
      expect(r.ms).toBeLessThanOrEqual(LATEST_REPLY_MS);
    }
    expect(replies.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    expect(replies.filter((r) => r.status === 200).length).toBeGreaterThan(50);
    expect(readiness.some((r) => r.mode !== 'pass' && !r.ready)).toBe(true);

    // The service recovered without a restart: ready again, and the platform's retries go through.
    await waitReady(port, service);
    expect(service.process.exitCode).toBeNull();
    const sent = [...new Set(replies.map((r) => r.index))];
    const unanswered = sent.filter((index) => !replies.some((r) => r.index === index && r.status === 200));
    for (const index of unanswered) expect((await post(bodies[index] as string)).status).toBe(200);

    const counts = await sql<{ order_id: string; notifications: number; events: number }>`
      SELECT n.order_id, count(*)::int AS notifications, (SELECT count(*)::int FROM outbox e WHERE e.notification_id = min(n.id)) AS events
      FROM notifications n WHERE n.order_id LIKE 'DBF-%' GROUP BY n.order_id`.execute(database.db);
    expect(counts.rows).toHaveLength(sent.length);
    for (const row of counts.rows) expect({ order: row.order_id, notifications: row.notifications, events: row.events }).toEqual({ order: row.order_id, notifications: 1, events: 1 });

    service.process.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  }, 60_000);
});
