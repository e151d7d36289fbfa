import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createMetrics } from '../src/metrics';
import { createHttpClient } from '../src/outbound/http-client';
import { postEvent } from '../src/outbox/post';
import { signWebhook } from '../src/outbox/signer';
import type { TestDatabase } from '../test/helpers/database';
import { openBenchDatabase } from './database';
import { relayOptions, seedEvents, testRelay } from '../test/helpers/outbox';

/**
 * Relay throughput to a local order system, against a baseline in the same run: the same number
 * of signed POSTs at the same concurrency with no database at all. The ratio says what claiming
 * and recording cost on top of HTTP; it holds on a busy machine where the raw figures do not.
 *
 *   npm run bench:relay                                   embedded PostgreSQL (a temporary data folder)
 *   BENCH_DATABASE_URL=postgres://… npm run bench:relay   PostgreSQL (a fresh database, dropped after)
 */
const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '5000' },
    orders: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
});
const EVENTS_PER_ORDER = Math.max(1, Math.round(Number(values.events) / Number(values.orders)));
const ORDERS = Number(values.orders);
const EVENTS = ORDERS * EVENTS_PER_ORDER;
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

async function startSink(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'sink.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/order-events`, stop: () => child.kill('SIGTERM') };
}

/** The same signed POSTs the relay sends, from a plain in-memory queue. */
async function baseline(url: string, body: string): Promise<number> {
  const key = relayOptions(url).key;
  let next = 0;
  const client = createHttpClient({ connectTimeoutMs: 10_000, connections: CONCURRENCY });
  const started = performance.now();
  const worker = async () => {
    while (next < EVENTS) {
      const id = `evt_${next++}`;
      const headers = { 'content-type': 'application/json', ...signWebhook({ id, timestamp: Math.floor(Date.now() / 1000), body }, key) };
      const result = await postEvent(client, url, headers, body, 10_000);
      if (!result.ok) throw new Error(result.error);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rate = EVENTS / ((performance.now() - started) / 1000);
  await client.close();
  return rate;
}

async function relayRun(database: TestDatabase, url: string): Promise<number> {
  await database.reset();
  await seedEvents(database.db, ORDERS, EVENTS_PER_ORDER, 'BENCH');
  // A live table has planner statistics (autovacuum on PostgreSQL); a table filled a moment ago has none.
  await sql`ANALYZE outbox`.execute(database.db);
  const metrics = createMetrics();
  const relay = testRelay(database, relayOptions(url, { concurrency: CONCURRENCY, pollMs: 1000 }), metrics);
  const started = performance.now();
  await relay.start();
  for (;;) {
    const delivered = (await metrics.relayAttempts.get()).values.find((v) => v.labels.outcome === 'delivered')?.value ?? 0;
    if (delivered >= EVENTS) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  await relay.stop();
  const left = await database.db.selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).where('state', '!=', 'delivered').executeTakeFirstOrThrow();
  if (left.n !== 0) throw new Error(`${left.n} events not delivered`);
  return EVENTS / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const database = await openBenchDatabase();
  const sink = await startSink();
  const sample = await seedEvents(database.db, 1, 1, 'SAMPLE');
  const body = JSON.stringify((await database.db.selectFrom('outbox').select('payload').where('id', '=', sample[0]?.id ?? '').executeTakeFirstOrThrow()).payload);
  console.log(`relay benchmark: ${EVENTS} events over ${ORDERS} orders, concurrency ${CONCURRENCY}, ${database.label}, ${ROUNDS} rounds`);
  const base: number[] = [];
  const relay: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      base.push(await baseline(sink.url, body));
      relay.push(await relayRun(database, sink.url));
      console.log(`round ${round}: baseline ${base.at(-1)?.toFixed(0)} POST/s   relay ${relay.at(-1)?.toFixed(0)} events/s`);
    }
    const b = median(base);
    const r = median(relay);
    console.log(`median: baseline ${b.toFixed(0)} POST/s, relay ${r.toFixed(0)} events/s, relay/baseline ${(r / b).toFixed(2)}`);
  } finally {
    sink.stop();
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
