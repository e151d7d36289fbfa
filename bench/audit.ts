import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { AUDIT_TOKEN, createTestApp } from '../test/helpers/app';
import { openBenchDatabase } from './database';
import { seedAuditTables } from '../test/helpers/seed-audit';

/**
 * Latency of filtered audit lists on a seeded table, over real HTTP, against `GET /healthz` on
 * the same server as the baseline (HTTP, routing and JSON without the database).
 *
 *   npm run bench:audit                                   embedded PostgreSQL (a temporary data folder)
 *   BENCH_DATABASE_URL=postgres://… npm run bench:audit   PostgreSQL (a fresh database, dropped after)
 */
const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, requests: { type: 'string', default: '200' } } });
const ROWS = Number(values.rows);
const REQUESTS = Number(values.requests);

const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const QUERIES = [
  ['orderId', () => `/api/v1/notifications?orderId=ORD-${Math.floor(Math.random() * (ROWS / 2))}`],
  ['shopId+status', () => `/api/v1/notifications?shopId=SHOP-${Math.floor(Math.random() * 20)}&status=refused&limit=50`],
  ['from/to', () => `/api/v1/notifications?from=${day(3)}&to=${day(2)}&limit=50`],
  ['deliveries verdict', () => '/api/v1/deliveries?verdict=bad_signature&limit=50'],
] as const;

async function time(base: string, path: () => string): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const started = performance.now();
    const res = await fetch(base + path(), { headers: { authorization: `Bearer ${AUDIT_TOKEN}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${path()} answered ${res.status}`);
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;

async function main(): Promise<void> {
  const database = await openBenchDatabase({ statementTimeoutMs: 300_000 });
  try {
    await seedAuditTables(database.db, ROWS);
    const { app } = createTestApp(database, { AUDIT_API_TOKEN: AUDIT_TOKEN });
    const server = createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    console.log(`audit API benchmark: ${ROWS} notifications, calls and events, ${database.label}, ${REQUESTS} sequential requests each`);
    const baseline = await time(base, () => '/healthz');
    console.log(`baseline GET /healthz: p50 ${pct(baseline, 50).toFixed(2)} ms, p99 ${pct(baseline, 99).toFixed(2)} ms`);
    for (const [name, path] of QUERIES) {
      const samples = await time(base, path);
      console.log(`${name.padEnd(20)} p50 ${pct(samples, 50).toFixed(2)} ms, p99 ${pct(samples, 99).toFixed(2)} ms, p50/baseline ${(pct(samples, 50) / pct(baseline, 50)).toFixed(1)}`);
    }
    server.close();
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
