import { sql } from 'kysely';
import { lyraFormBody } from '../../src/tools/lyra-notifications';
import { HMAC_SHOP } from '../helpers/app';
import { openTestDatabase, withServiceDatabase, type TestDatabase } from '../helpers/database';
import { WEBHOOK_SECRET } from '../helpers/outbox';
import { freePort, startService, waitForOutput, waitReady, type Service } from '../helpers/service';
import { startSink } from '../helpers/sink';
import { newDataDir, removeDataDir } from '../helpers/data-dir';

/**
 * The running service killed (SIGKILL) or stopped (SIGTERM) under load, then restarted: every
 * notification answered 2xx is stored once with its outbox row, and everything else is stored
 * once when the platform sends it again.
 */
describe('the service under load, killed or stopped', () => {
  let database: TestDatabase | null = null;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = newDataDir('ipn-faults-');
    if (process.env.TEST_DATABASE_URL) database = await openTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
    await removeDataDir(dataDir);
  });

  async function start(extra: Record<string, string> = {}): Promise<{ service: Service; port: number }> {
    const port = await freePort();
    env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      LYRA_SHOPS: JSON.stringify([HMAC_SHOP]),
      LYRA_ALLOWED_CIDRS: '127.0.0.1/32',
      ...(database === null ? { DATABASE_URL: '', DATA_DIR: dataDir } : { DATABASE_URL: database.url }),
      ...extra,
    };
    const service = startService(env);
    await waitReady(port, service);
    await waitForOutput(service, '"msg":"listening"');
    return { service, port };
  }

  const bodies = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => lyraFormBody({ shopId: HMAC_SHOP.shopId, orderId: `${prefix}-${i}`, status: 'AUTHORISED' }, HMAC_SHOP.testKey));

  /** Sends every body, `concurrency` at a time; `onProgress` sees the count of replies so far. */
  async function send(port: number, all: string[], concurrency: number, onProgress: (replies: number) => void = () => undefined) {
    const results = new Array<{ status: number | null; text: string }>(all.length);
    let next = 0;
    let replies = 0;
    const worker = async () => {
      while (next < all.length) {
        const index = next++;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/ipn/lyra`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: all[index] });
          results[index] = { status: res.status, text: await res.text() };
        } catch (error) {
          results[index] = { status: null, text: String(error) };
        }
        onProgress(++replies);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return results;
  }

  async function stored(prefix: string): Promise<{ notifications: number; outbox: number; orders: number }> {
    return withServiceDatabase(database, dataDir, async (handle) => {
      const { rows } = await sql<{ notifications: number; outbox: number; orders: number }>`
        SELECT (SELECT count(*)::int FROM notifications WHERE order_id LIKE ${`${prefix}-%`}) AS notifications,
               (SELECT count(*)::int FROM outbox WHERE aggregateid LIKE ${`%:${prefix}-%`}) AS outbox,
               (SELECT count(*)::int FROM orders WHERE order_id LIKE ${`${prefix}-%`} AND status = 'PAID') AS orders`.execute(handle.db);
      return rows[0] as { notifications: number; outbox: number; orders: number };
    });
  }

  async function eventStates(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return withServiceDatabase(database, dataDir, async (handle) => {
      const rows = await handle.db.selectFrom('outbox').select(['id', 'state']).where('id', 'in', ids).execute();
      return ids.map((id) => rows.find((r) => r.id === id)?.state ?? 'missing');
    });
  }

  it('SIGKILL mid-load: nothing answered 2xx is lost, nothing is applied twice, the restart migrates nothing', async () => {
    const all = bodies('KILL', 120);
    const first = await start();
    const results = await send(first.port, all, 12, (replies) => {
      if (replies === 30) first.service.process.kill('SIGKILL');
    });
    expect(await first.service.exited).toBeNull();
    const answered = results.filter((r) => r.status === 200).length;
    expect(answered).toBeGreaterThanOrEqual(30);
    expect(answered).toBeLessThan(all.length);
    expect(results.every((r) => r.status === 200 || r.status === null)).toBe(true);

    const second = await start();
    expect(second.service.output()).toMatch(/"applied":\[\]/);
    // The platform retries what got no 2xx, and a few that did (a lost reply looks the same to it).
    const retried = all.filter((_, i) => results[i]?.status !== 200).concat(all.slice(0, 5));
    const again = await send(second.port, retried, 8);
    expect(again.every((r) => r.status === 200 && /^OK-(applied|duplicate)/.test(r.text))).toBe(true);
    second.service.process.kill('SIGTERM');
    expect(await second.service.exited).toBe(0);
    expect(await stored('KILL')).toEqual({ notifications: 120, outbox: 120, orders: 120 });
  });

  it('SIGTERM mid-load: requests in flight get their normal reply, the relay finishes its deliveries, the process exits 0, nothing is half-done', async () => {
    const all = bodies('TERM', 120);
    const sink = await startSink(() => ({ status: 200, delayMs: 300 }));
    const first = await start({ ORDER_EVENTS_URL: sink.url, ORDER_EVENTS_SECRET: WEBHOOK_SECRET, ORDER_EVENTS_CONCURRENCY: '4' });
    const results = await send(first.port, all, 12, (replies) => {
      if (replies === 30) first.service.process.kill('SIGTERM');
    });
    expect(await first.service.exited).toBe(0);
    // A reply is a normal one or there is none (connection refused after the stop): never a 5xx.
    for (const r of results) expect(r.status === null || (r.status === 200 && r.text.startsWith('OK-applied'))).toBe(true);
    expect(first.service.output()).toContain('shutting down');
    // Every event the order system accepted was recorded as delivered before the process exited.
    expect(sink.requests.length).toBeGreaterThan(0);
    const delivered = await eventStates(sink.accepted.map((r) => r.id));
    expect(delivered).toEqual(sink.accepted.map(() => 'delivered'));
    await sink.close();

    const second = await start();
    const again = await send(second.port, all, 8);
    expect(again.every((r) => r.status === 200)).toBe(true);
    second.service.process.kill('SIGTERM');
    expect(await second.service.exited).toBe(0);
    expect(await stored('TERM')).toEqual({ notifications: 120, outbox: 120, orders: 120 });
  });
});
