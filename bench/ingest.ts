import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../src/store/database';
import { lyraFormBody } from '../src/tools/lyra-notifications';
import { freePort, root } from '../test/helpers/service';
import { describeMix, realisticMix } from './mix';

/**
 * The request path under load: the real service against a bare baseline (parse, verify, one
 * INSERT … ON CONFLICT of the fields) on the same PostgreSQL, alternating A B A B; then the
 * service while a disallowed address floods it from another process (as fast as it can, then at
 * `--flood-rate` calls/s), alternating with runs without the flood; then the mix with a million
 * notifications already stored against the mix on empty tables. The embedded default has its own
 * benchmark (bench/embedded.ts).
 *
 *   npm run bench:ingest                         the machine's PostgreSQL (postgres@127.0.0.1:5432)
 *   BENCH_DATABASE_URL=postgres://… npm run bench:ingest -- --duration 15 --stored 1000000
 */
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    stored: { type: 'string', default: '1000000' },
    'flood-connections': { type: 'string', default: '16' },
    'flood-rate': { type: 'string', default: '1000' },
    /** 0 skips the comparison of one receiver with two sharing the database. */
    'two-receivers': { type: 'string', default: '1' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const STORED = Number(values.stored);
const FLOOD_CONNECTIONS = Number(values['flood-connections']);
/** Calls per second of the second, paced flood (the first goes as fast as it can). */
const FLOOD_RATE = Number(values['flood-rate']);
const TWO_RECEIVERS = values['two-receivers'] !== '0';
const WARM_UP_SECONDS = Math.min(3, DURATION);
/** Scanners' addresses, one per flood: not allowed, so every call of a flood is refused with 403. */
const FLOOD_SOURCES = ['203.0.113.77', '203.0.113.78'] as const;
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SHOP = { shopId: '70000001', algorithm: 'HMAC-SHA-256', testKey: 'bench-key-4f1c9a7e2b', testPassword: 'testpassword_bench' };

interface Figures {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  non2xx: number;
  /** Forged calls sent, each answered 401: the non-2xx a run is expected to have. */
  /** Forged calls answered; every one must be refused. */
  forged: number;
  /** Forged calls answered 2xx and genuine ones answered otherwise: must be 0. */
  misanswered: number;
  errors: number;
}

let sequence = 0;
/** Unique, correctly signed form notifications: a new order and transaction each. */
function nextBody(): string {
  const n = sequence++;
  return lyraFormBody({ shopId: SHOP.shopId, orderId: `B-${process.pid}-${n}`, status: 'AUTHORISED', transactionUuid: `${process.pid.toString(16)}${n.toString(16)}`.padStart(32, 'b'), amount: 1000 + (n % 9000) }, SHOP.testKey);
}

/** What a run sends: the realistic mix of merchant traffic, or first notifications of new orders only. */
type Workload = 'mix' | 'first';
let runs = 0;

/** The bodies of a run, made before it starts so that signing them costs the load generator nothing. */
function callsOf(workload: Workload, duration: number): { body: string; forged: boolean }[] {
  // More than the fastest run sends: a run that reached the end would replay calls as retries.
  const count = Math.ceil(duration * 6000);
  if (workload === 'first') return Array.from({ length: count }, () => ({ body: nextBody(), forged: false }));
  const next = realisticMix(SHOP, `M-${process.pid}-${runs++}`);
  return Array.from({ length: count }, () => {
    const call = next();
    return { body: call.body, forged: call.kind === 'forged' };
  });
}

async function load(label: string, port: number, duration = DURATION, workload: Workload = 'first', connections = CONNECTIONS): Promise<Figures> {
  const calls = callsOf(workload, duration);
  let next = 0;
  let forged = 0;
  let misanswered = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/ipn/lyra`,
    connections,
    duration,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    requests: [
      {
        // A connection sends one call at a time: its context says whether the call answered was forged.
        setupRequest: (req, context: { forged?: boolean }) => {
          const call = calls[next++ % calls.length];
          context.forged = call?.forged ?? false;
          return { ...req, body: call?.body };
        },
        onResponse: (status: number, _body: string, context: { forged?: boolean }) => {
          if (context.forged === true) forged++;
          if ((status >= 200 && status < 300) !== (context.forged !== true)) misanswered++;
        },
      },
    ],
  });
  if (next > calls.length) throw new Error(`${label}: the run sent more than the ${calls.length} calls made for it`);
  return { label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, ok: result['2xx'], non2xx: result.non2xx, forged, misanswered, errors: result.errors + result.timeouts };
}

/**
 * A short unmeasured load of each server before its first measured run: JIT compilation, the
 * pool's connections and their prepared statements are ready in both, so round 1 compares them
 * warm as the later rounds do. Its notifications are stored and checked like the others.
 */
async function warmUp(...ports: number[]): Promise<Figures[]> {
  const runs: Figures[] = [];
  for (const port of ports) runs.push(await load('warm-up', port, WARM_UP_SECONDS));
  return runs;
}

interface Running {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function waitFor(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`exited: ${output()}`);
    await sleep(100);
  }
  throw new Error(`not ready: ${output()}`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

async function startService(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  // The compiled service, as production runs it (`npm run bench:ingest` builds it first): the
  // TypeScript loader of `npm start` holds about 50 MB of its own.
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    // Loopback is a trusted proxy, so the flood can claim its own address in X-Forwarded-For.
    env: { ...process.env, NODE_OPTIONS: '', NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', LYRA_SHOPS: JSON.stringify([SHOP]), LYRA_ALLOWED_CIDRS: '127.0.0.1/32', TRUST_PROXY: 'loopback', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(`http://127.0.0.1:${port}/readyz`, child, () => output);
  return { port, child, stop: stopper(child) };
}

async function startBaseline(databaseUrl: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'baseline-server.ts')], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: databaseUrl, BASELINE_KEY: SHOP.testKey, BASELINE_PASSWORD: SHOP.testPassword },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`baseline exited with ${code}`)));
  });
  return { port, child, stop: stopper(child) };
}

/** CPU time (user and system) a process has used so far, from /proc: Linux, 100 ticks a second. */
function cpuMs(child: ChildProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Busy CPU time of the whole machine so far (every core, every process), from /proc/stat. */
function machineBusyMs(): number {
  // user nice system idle iowait irq softirq steal; guest time is already counted in user.
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return (fields.reduce((a, b) => a + b, 0) - idle) * 10;
}

/** Peak resident set of a process, from the kernel's high-water mark. */
function peakRssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const fmt = (f: Figures) =>
  `${f.label.padEnd(34)} ${f.rps.toFixed(0).padStart(6)} req/s   p50 ${String(f.p50).padStart(4)} ms   p99 ${String(f.p99).padStart(4)} ms   max ${String(f.max).padStart(5)} ms   2xx ${f.ok}   non-2xx ${f.non2xx}${f.forged > 0 ? ` (${f.forged} forged)` : ''}${f.misanswered > 0 ? `   MISANSWERED ${f.misanswered}` : ''}   errors ${f.errors}`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The service's own load while a disallowed address floods the same route, alternating with the
 * same load without the flood, so that the machine's drift cancels out as in the A B rounds: how
 * much the flood slows allowed notifications, against the run without it and against the
 * baseline, and how many of its calls reach the audit table (a budget per source and minute, the
 * rest only counted in metrics). Returns every run, for the stored-once check.
 */
async function floodRounds(service: Running, databaseUrl: string, baselineRps: number, source: string, rate: number): Promise<Figures[]> {
  const pace = rate > 0 ? `${rate}/s` : 'full';
  const plain: Figures[] = [];
  const flooded: Figures[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    let cpuBefore = cpuMs(service.child);
    const without = await load(`service, no flood (${round})`, service.port);
    const perAllowedMs = (cpuMs(service.child) - cpuBefore) / (without.ok + without.non2xx);
    console.log(fmt(without));
    plain.push(without);
    const flood = await floodFrom(source, service.port, rate);
    cpuBefore = cpuMs(service.child);
    const [allowed, flooding] = await Promise.all([load(`  under flood ${pace} (${round})`, service.port), flood.done]);
    // The service's CPU beyond what its allowed calls cost in the run just before: an estimate.
    const perRefusedMs = (cpuMs(service.child) - cpuBefore - perAllowedMs * (allowed.ok + allowed.non2xx)) / flooding.total;
    console.log(fmt(allowed));
    console.log(
      `  flood: ${flooding.total} calls from ${source} (${flooding.average.toFixed(0)}/s, ${flooding.non2xx} refused); service CPU ${perAllowedMs.toFixed(3)} ms per allowed call, about ${perRefusedMs.toFixed(3)} ms per refused call; the flood's generator used ${(flooding.cpuMs / 1000 / DURATION).toFixed(2)} of a core`,
    );
    flooded.push(allowed);
    if (allowed.non2xx > 0 || flooding.total === 0 || flooding.non2xx !== flooding.total) process.exitCode = 1;
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const recorded = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE source_ip = $1`, [source])).rows[0]?.n ?? 0;
  await client.end();
  const floodedRps = mean(flooded.map((f) => f.rps));
  console.log(
    `flood ${pace} (${FLOOD_CONNECTIONS} connections): allowed throughput under flood / without ${(floodedRps / mean(plain.map((f) => f.rps))).toFixed(2)}, / baseline ${(floodedRps / baselineRps).toFixed(2)}; p99 under flood ${flooded.map((f) => f.p99).join(', ')} ms; ${recorded} of its calls recorded`,
  );
  return [...plain, ...flooded];
}

interface FloodTotals {
  total: number;
  average: number;
  non2xx: number;
  cpuMs: number;
}

/** The flood, from a process of its own (bench/flood.ts), for as long as a measured run: resolves once it is flooding. */
async function floodFrom(source: string, port: number, rate: number): Promise<{ done: Promise<FloodTotals> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'flood.ts'), `http://127.0.0.1:${port}/ipn/lyra`, String(FLOOD_CONNECTIONS), String(DURATION), source, String(rate)], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin?.end(nextBody());
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<FloodTotals>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(output.slice(output.indexOf('\n') + 1)) as FloodTotals) : reject(new Error(`the flood exited with ${code}`))));
  });
  await Promise.race([done, new Promise<void>((resolve) => child.stdout?.on('data', () => output.startsWith('flooding\n') && resolve()))]);
  return { done };
}

/**
 * The mix at the same 32 connections, split over two load generators of half the connections
 * each: both to one receiver, or one to each of two receivers on the same database (a round-robin
 * per connection, as a load balancer keeping its connections alive does). Alternating, so the
 * machine's drift cancels out; each run says where the CPU went.
 */
async function receiverRounds(first: Running, second: Running): Promise<Figures[]> {
  const half = Math.max(1, Math.floor(CONNECTIONS / 2));
  const split = async (label: string, targets: [Running, Running]): Promise<Figures> => {
    const services = [...new Set(targets)];
    const cpuBefore = services.map((s) => cpuMs(s.child));
    const machineBefore = machineBusyMs();
    const started = performance.now();
    const runs = await Promise.all(targets.map((t, i) => load(`${label} [${i + 1}]`, t.port, DURATION, 'mix', half)));
    const calls = runs.reduce((n, f) => n + f.ok + f.non2xx, 0);
    const serviceMs = services.reduce((n, s, i) => n + cpuMs(s.child) - (cpuBefore[i] ?? 0), 0);
    const machineMs = machineBusyMs() - machineBefore;
    const wallMs = performance.now() - started;
    const total: Figures = {
      label,
      rps: runs.reduce((n, f) => n + f.rps, 0),
      p50: Math.max(...runs.map((f) => f.p50)),
      // The worse of the two generators' p99: an upper bound of the combined one.
      p99: Math.max(...runs.map((f) => f.p99)),
      max: Math.max(...runs.map((f) => f.max)),
      ok: runs.reduce((n, f) => n + f.ok, 0),
      non2xx: runs.reduce((n, f) => n + f.non2xx, 0),
      forged: runs.reduce((n, f) => n + f.forged, 0),
      misanswered: runs.reduce((n, f) => n + f.misanswered, 0),
      errors: runs.reduce((n, f) => n + f.errors, 0),
    };
    console.log(fmt(total));
    console.log(
      `  CPU per call: receiver${services.length > 1 ? 's' : ''} ${(serviceMs / calls).toFixed(3)} ms, everything else on the machine (PostgreSQL, load generators) ${((machineMs - serviceMs) / calls).toFixed(3)} ms; machine busy ${((machineMs / wallMs / cpus().length) * 100).toFixed(0)}% of its ${cpus().length} cores`,
    );
    if (total.misanswered > 0 || total.errors > 0) process.exitCode = 1;
    return total;
  };
  const one: Figures[] = [];
  const two: Figures[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    one.push(await split(`one receiver, mix (${round})`, [first, first]));
    two.push(await split(`two receivers, mix (${round})`, [first, second]));
  }
  console.log(`realistic mix, two receivers / one: ${(mean(two.map((f) => f.rps)) / mean(one.map((f) => f.rps))).toFixed(2)}   p99 one ${one.map((f) => f.p99).join(', ')} ms, two ${two.map((f) => f.p99).join(', ')} ms`);
  return [...one, ...two];
}

/** Seeds `count` rows into every table the ingest writes, in a few SQL statements. */
async function seedStored(url: string, count: number): Promise<void> {
  const handle = await openDatabase({ url, dataDir: '', poolSize: 1, statementTimeoutMs: 600_000 });
  const db = handle.db;
  try {
    await sql`INSERT INTO orders (provider, shop_id, mode, order_id, status, paid_amount, currency)
      SELECT 'lyra', ${SHOP.shopId}, 'TEST', 'S-' || i, 'PAID', 1000, 'EUR' FROM generate_series(1, ${count}) AS i`.execute(db);
    await sql`INSERT INTO notifications (dedup_key, provider, format, shop_id, mode, order_id, transaction_id, operation, status, status_raw, amount, currency, failure_is_final, outcome, order_ref)
      SELECT 'seed-' || o.id, 'lyra', 'form', o.shop_id, 'TEST', o.order_id, md5('s' || o.id), 'debit', 'authorised', 'AUTHORISED', 1000, 'EUR', true, 'applied', o.id
      FROM orders o WHERE o.order_id LIKE 'S-%'`.execute(db);
    await sql`INSERT INTO transactions (provider, shop_id, mode, transaction_id, order_ref, operation, status, status_raw, amount, currency, failure_is_final, last_notification_id)
      SELECT 'lyra', n.shop_id, 'TEST', n.transaction_id, n.order_ref, 'debit', 'authorised', 'AUTHORISED', 1000, 'EUR', true, n.id FROM notifications n WHERE n.dedup_key LIKE 'seed-%'`.execute(db);
    await sql`INSERT INTO deliveries (provider, source_ip, content_type, raw_body, verdict, http_status, reply)
      SELECT 'lyra', '194.50.38.1', 'application/x-www-form-urlencoded', convert_to(repeat('x', 1200), 'UTF8'), 'applied', 200, 'OK-applied' FROM generate_series(1, ${count})`.execute(db);
    await sql`INSERT INTO delivery_notifications (delivery_id, notification_id, outcome)
      SELECT d.id, n.id, 'applied' FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM deliveries) d
      JOIN (SELECT id, row_number() OVER (ORDER BY id) AS r FROM notifications WHERE dedup_key LIKE 'seed-%') n USING (r)`.execute(db);
    await sql`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, notification_id, state, delivered_at)
      SELECT md5('seed-event' || n.id)::uuid, 'order', 'lyra:' || n.shop_id || ':TEST:' || n.order_id, 'order.paid', '{}'::jsonb, n.id, 'delivered', now()
      FROM notifications n WHERE n.dedup_key LIKE 'seed-%'`.execute(db);
    await sql`VACUUM ANALYZE`.execute(db);
    // The seeding's dirty pages are written now, not during the measured run.
    await sql`CHECKPOINT`.execute(db);
  } finally {
    await handle.close();
  }
}

async function countStored(url: string): Promise<{ notifications: number; outbox: number; deliveries: number }> {
  const handle = await openDatabase({ url, dataDir: '', poolSize: 1, statementTimeoutMs: 60_000 });
  try {
    const row = await sql<{ notifications: number; outbox: number; deliveries: number }>`
      SELECT (SELECT count(*)::int FROM notifications WHERE order_id LIKE 'B-%') AS notifications,
             (SELECT count(*)::int FROM outbox WHERE notification_id IN (SELECT id FROM notifications WHERE order_id LIKE 'B-%')) AS outbox,
             (SELECT count(*)::int FROM deliveries WHERE http_status = 200 AND reply LIKE 'OK-applied: order B-%' AND source_ip = '127.0.0.1') AS deliveries`.execute(handle.db);
    return row.rows[0] as { notifications: number; outbox: number; deliveries: number };
  } finally {
    await handle.close();
  }
}

/**
 * Of the mix: every 2xx has its call recorded, and nothing was applied twice (no order has two
 * events of one type: each story's follow-up moves its order at most once).
 */
async function checkMixStored(url: string, okCount: number): Promise<{ ok: boolean; line: string }> {
  const handle = await openDatabase({ url, dataDir: '', poolSize: 1, statementTimeoutMs: 60_000 });
  try {
    const row = (
      await sql<{ recorded: number; doubled: number }>`
        SELECT (SELECT count(*)::int FROM deliveries WHERE http_status < 300 AND source_ip = '127.0.0.1' AND reply NOT LIKE '%order B-%') AS recorded,
               (SELECT count(*)::int FROM (SELECT 1 FROM outbox WHERE aggregateid LIKE '%:M-%' GROUP BY aggregateid, type HAVING count(*) > 1) d) AS doubled`.execute(handle.db)
    ).rows[0] as { recorded: number; doubled: number };
    const ok = row.recorded >= okCount && row.doubled === 0;
    return { ok, line: `mix stored: ${okCount} 2xx replies -> ${row.recorded} recorded calls; orders with an event applied twice: ${row.doubled}; ${ok ? 'yes' : 'NO'}` };
  } finally {
    await handle.close();
  }
}

async function main(): Promise<void> {
  const name = `ipn_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const results: Figures[] = [];
  const serviceRuns: Figures[] = [];
  const baselineRuns: Figures[] = [];
  const mixRuns: Figures[] = [];
  const mixBaselineRuns: Figures[] = [];
  /** Mix runs of the one-or-two receivers comparison: stored-checked with the mix, not compared with its baseline. */
  const receiverRuns: Figures[] = [];
  /** Service runs whose 2xx are checked in the database but not compared: the warm-up and the floods. */
  const uncomparedRuns: Figures[] = [];
  let peak = 0;
  try {
    console.log(`ingest benchmark: ${CONNECTIONS} connections, ${DURATION} s per run, PostgreSQL at ${url.host}, node ${process.version}`);
    const service = await startService({ DATABASE_URL: databaseUrl });
    const baseline = await startBaseline(databaseUrl);
    try {
      const [serviceWarmUp] = await warmUp(service.port, baseline.port);
      uncomparedRuns.push(serviceWarmUp as Figures);
      console.log(`realistic mix: ${describeMix(SHOP)}`);
      for (const workload of ['mix', 'first'] as const) {
        const name = workload === 'mix' ? 'mix' : 'first only';
        for (let round = 1; round <= ROUNDS; round++) {
          const a = await load(`service, ${name} (${round})`, service.port, DURATION, workload);
          const b = await load(`baseline, ${name} (${round})`, baseline.port, DURATION, workload);
          (workload === 'mix' ? mixRuns : serviceRuns).push(a);
          (workload === 'mix' ? mixBaselineRuns : baselineRuns).push(b);
          console.log(fmt(a));
          console.log(fmt(b));
          // A forged call is refused and every genuine one answered 2xx.
          if (a.misanswered > 0 || a.errors > 0) process.exitCode = 1;
        }
      }
      if (FLOOD_CONNECTIONS > 0) {
        const baselineRps = mean(baselineRuns.map((f) => f.rps));
        uncomparedRuns.push(...(await floodRounds(service, databaseUrl, baselineRps, FLOOD_SOURCES[0], 0)));
        if (FLOOD_RATE > 0) uncomparedRuns.push(...(await floodRounds(service, databaseUrl, baselineRps, FLOOD_SOURCES[1], FLOOD_RATE)));
      }
      peak = peakRssMb(service.child);
      if (TWO_RECEIVERS) {
        const second = await startService({ DATABASE_URL: databaseUrl });
        try {
          uncomparedRuns.push(...(await warmUp(second.port)));
          receiverRuns.push(...(await receiverRounds(service, second)));
        } finally {
          await second.stop();
        }
      }
    } finally {
      await service.stop();
      await baseline.stop();
    }
    const mixRatio = mean(mixRuns.map((f) => f.rps)) / mean(mixBaselineRuns.map((f) => f.rps));
    console.log(`realistic mix, service/baseline throughput: ${mixRatio.toFixed(2)}   p99 ${mixRuns.map((f) => f.p99).join(', ')} ms`);
    const mixStored = await checkMixStored(databaseUrl, [...mixRuns, ...receiverRuns].reduce((n, f) => n + f.ok, 0));
    console.log(mixStored.line);
    if (!mixStored.ok) process.exitCode = 1;
    const stored = await countStored(databaseUrl);
    const okCount = [...serviceRuns, ...uncomparedRuns].reduce((n, f) => n + f.ok, 0);
    const ratio = mean(serviceRuns.map((f) => f.rps)) / mean(baselineRuns.map((f) => f.rps));
    results.push(...serviceRuns, ...baselineRuns);
    console.log(`first notifications, service/baseline throughput: ${ratio.toFixed(2)}   service peak RSS: ${peak.toFixed(0)} MB`);
    // Requests still in flight when a run ends are stored without autocannon counting their reply.
    const everyOkStored = stored.notifications >= okCount && stored.outbox === stored.notifications && stored.deliveries === stored.notifications;
    console.log(`stored: ${okCount} 2xx replies -> ${stored.notifications} notifications, ${stored.outbox} outbox rows, ${stored.deliveries} applied calls; every 2xx stored exactly once: ${everyOkStored ? 'yes' : 'NO'}`);
    if (!everyOkStored) process.exitCode = 1;

    if (STORED > 0) {
      const started = Date.now();
      await seedStored(databaseUrl, STORED);
      console.log(`seeded ${STORED} stored notifications (with orders, transactions, calls, links, events) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      // Against empty tables measured now, alternating, so the machine's drift over the seeding cancels out.
      const emptyName = `${name}_empty`;
      await admin.query(`CREATE DATABASE ${emptyName}`);
      const emptyUrl = new URL(databaseUrl);
      emptyUrl.pathname = `/${emptyName}`;
      const full = await startService({ DATABASE_URL: databaseUrl });
      const empty = await startService({ DATABASE_URL: emptyUrl.toString() });
      try {
        const fullRuns: Figures[] = [];
        const emptyRuns: Figures[] = [];
        await warmUp(full.port, empty.port);
        for (let round = 1; round <= ROUNDS; round++) {
          // On the mix: its follow-ups look up the orders a large table holds, as a merchant's do.
          fullRuns.push(await load(`service, mix, ${STORED} stored (${round})`, full.port, DURATION, 'mix'));
          emptyRuns.push(await load(`service, mix, empty tables (${round})`, empty.port, DURATION, 'mix'));
          console.log(fmt(fullRuns.at(-1) as Figures));
          console.log(fmt(emptyRuns.at(-1) as Figures));
        }
        const ratioStored = mean(fullRuns.map((r) => r.rps)) / mean(emptyRuns.map((r) => r.rps));
        console.log(`realistic mix, throughput at ${STORED} stored / empty: ${ratioStored.toFixed(2)}   peak RSS: ${peakRssMb(full.child).toFixed(0)} MB`);
      } finally {
        await full.stop();
        await empty.stop();
        await admin.query(`DROP DATABASE IF EXISTS ${emptyName} WITH (FORCE)`);
      }
    }

  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
