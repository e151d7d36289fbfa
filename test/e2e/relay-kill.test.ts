import { CLAIM_AHEAD } from '../../src/outbox/relay';
import { openTestDatabase, withServiceDatabase, type TestDatabase } from '../helpers/database';
import { outboxRows, seedEvents, WEBHOOK_SECRET, type SeededEvent } from '../helpers/outbox';
import { startSink, type Sink } from '../helpers/sink';
import { freePort, startService, waitReady } from '../helpers/service';
import { newDataDir, removeDataDir } from '../helpers/data-dir';

/**
 * The relay as its own process, killed with SIGKILL while deliveries are in flight, then started
 * again: every event arrives, in order per order. It runs alone (ROLE=relay) beside the test's
 * connection: to the test's PostgreSQL database, or to the embedded server of a data folder.
 */
describe('a relay killed mid-batch', () => {
  let database: TestDatabase | null = null;
  let dataDir: string;
  let sink: Sink;

  beforeAll(async () => {
    dataDir = newDataDir('ipn-relay-kill-');
    if (process.env.TEST_DATABASE_URL) database = await openTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
    await sink?.close();
    await removeDataDir(dataDir);
  });

  const withDatabase = <T>(work: (db: TestDatabase['db']) => Promise<T>): Promise<T> => withServiceDatabase(database, dataDir, (handle) => work(handle.db));

  it('loses nothing: the restarted relay delivers every event, in order per order', async () => {
    const events: SeededEvent[] = await withDatabase((db) => seedEvents(db, 30, 10, 'KILL'));
    sink = await startSink(() => ({ status: 200, delayMs: 30 }));
    const port = await freePort();
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      LYRA_SHOPS: '',
      ...(database === null ? { DATABASE_URL: '', DATA_DIR: dataDir, ROLE: 'relay' } : { DATABASE_URL: database.url, ROLE: 'relay' }),
      ORDER_EVENTS_URL: sink.url,
      ORDER_EVENTS_SECRET: WEBHOOK_SECRET,
      ORDER_EVENTS_TIMEOUT_MS: '1000',
      ORDER_EVENTS_CONCURRENCY: '8',
      ORDER_EVENTS_POLL_MS: '200',
    };

    const first = startService(env);
    await waitReady(port, first);
    await sink.waitFor((s) => s.requests.length >= 60, 30_000);
    first.process.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const atKill = new Set(sink.accepted.map((r) => r.id)).size;
    expect(atKill).toBeLessThan(events.length);

    const second = startService(env);
    await waitReady(port, second);
    await sink.waitFor((s) => new Set(s.accepted.map((r) => r.id)).size === events.length, 45_000);
    second.process.kill('SIGTERM');
    const code = await second.exited;
    if (code !== 0) throw new Error(`exit ${code}: ${second.output()}`);

    // Only what the killed relay had claimed and not yet recorded may arrive twice (receivers
    // deduplicate by webhook-id): its POSTs in flight and those posted since its last record.
    expect(sink.requests.length - events.length).toBeLessThanOrEqual((1 + CLAIM_AHEAD) * 8);
    for (let o = 0; o < 30; o++) {
      const expected = events.filter((e) => e.orderId === `KILL-${o}`).map((e) => e.id);
      const firstArrivals = [...new Set(sink.requests.filter((r) => r.event.order.orderId === `KILL-${o}`).map((r) => r.id))];
      expect(firstArrivals).toEqual(expected);
    }
    const rows = await withDatabase((db) => outboxRows(db));
    expect(rows.filter((r) => r.state === 'delivered')).toHaveLength(events.length);
  });
});
