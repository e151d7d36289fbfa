import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import pg from 'pg';
import { DEMO_LYRA_SHOP } from '../src/config';
import { openDatabase } from '../src/store/database';
import { lyraFormBody } from '../src/tools/lyra-notifications';
import { newDataDir, removeDataDir } from '../test/helpers/data-dir';
import { freePort, root } from '../test/helpers/service';
import { realisticMix } from './mix';

/**
 * The default a newcomer meets: `npm start` with no configuration (the demo shop, the embedded
 * PostgreSQL in DATA_DIR), started exactly as the README says, against the same `npm start` on the
 * machine's PostgreSQL server (DATABASE_URL) as the baseline, alternating A B in each run.
 * For each: the first start on an empty folder (database created), the start on the existing
 * one, the idle resident memory of the whole process tree (npm, the shell, the service, and for
 * the embedded one the PostgreSQL server and its processes), then load at 32 connections: unique
 * signed first notifications, and the realistic mix (follow-ups, retries, resends, forgeries).
 * Every 2xx must be stored once; the figures are printed against the bar, not judged.
 *
 *   npm run bench:embedded
 *   npm run bench:embedded -- --runs 1 --duration 2 --idle 1 --idle-after 1      (the CI smoke run)
 */
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '32' },
    idle: { type: 'string', default: '15' },
    'idle-after': { type: 'string', default: '30' },
  },
});
const RUNS = Number(values.runs);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
/** Seconds of idling before memory is read: the pool closes idle connections after 10 s. */
const IDLE_SECONDS = Number(values.idle);
/** Seconds of idling after the load: the pool's connections and autovacuum's worker are gone by then. */
const IDLE_AFTER_SECONDS = Number(values['idle-after']);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SHOP = DEMO_LYRA_SHOP as { shopId: string; testKey: string; testPassword: string };
const BAR = { idleMb: 250, rps: 500, p99: 100, max: 1000, firstStartMs: 15_000, startMs: 5_000 };

interface Load {
  rps: number;
  p99: number;
  max: number;
  ok: number;
  misanswered: number;
  errors: number;
}
interface Leg {
  firstStartMs: number;
  startMs: number;
  idle: TreeMemory;
  loaded: TreeMemory;
  /** Idle again after the load: the pool's connections closed, the heap as traffic left it. */
  idleAfter: TreeMemory;
  first: Load;
  mix: Load;
  stored: boolean;
}

let sequence = 0;
const firstNotification = (): string => {
  const n = sequence++;
  return lyraFormBody({ shopId: SHOP.shopId, orderId: `E-${process.pid}-${n}`, status: 'AUTHORISED', transactionUuid: `${process.pid.toString(16)}${n.toString(16)}`.padStart(32, 'e'), amount: 1000 + (n % 9000) }, SHOP.testKey);
};

async function load(port: number, workload: 'first' | 'mix', duration = DURATION): Promise<Load> {
  const next = workload === 'mix' ? realisticMix(SHOP, `EM-${process.pid}-${sequence++}`) : () => ({ body: firstNotification(), kind: 'first' as const });
  // Made before the run, so that signing costs the load generator nothing during it.
  const calls = Array.from({ length: Math.ceil(duration * 4000) }, () => {
    const call = next();
    return { body: call.body, forged: call.kind === 'forged' };
  });
  let index = 0;
  let misanswered = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/ipn/lyra`,
    connections: CONNECTIONS,
    duration,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    requests: [
      {
        setupRequest: (req, context: { forged?: boolean }) => {
          const call = calls[index++ % calls.length];
          context.forged = call?.forged ?? false;
          return { ...req, body: call?.body };
        },
        onResponse: (status: number, _body: string, context: { forged?: boolean }) => {
          if ((status >= 200 && status < 300) !== (context.forged !== true)) misanswered++;
        },
      },
    ],
  });
  if (index > calls.length) throw new Error(`the run sent more than the ${calls.length} calls made for it`);
  return { rps: result.requests.average, p99: result.latency.p99, max: result.latency.max, ok: result['2xx'], misanswered, errors: result.errors + result.timeouts };
}

interface Started {
  child: ChildProcess;
  port: number;
  ms: number;
  output: () => string;
}

/** `npm start`, in a process group of its own, timed from the spawn to the first 200 of /readyz. */
async function npmStart(env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const started = Date.now();
  const child = spawn('npm', ['start'], { cwd: root, detached: true, env: { ...process.env, NODE_OPTIONS: '', NODE_ENV: '', LOG_LEVEL: '', PORT: String(port), HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Its log, one line per notification as npm start writes it, is read as a terminal would; the
  // end of it is kept for an error message.
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return { child, port, ms: Date.now() - started, output: () => output };
    } catch {
      // not listening yet
    }
    if (!running(child)) throw new Error(`npm start exited: ${output}`);
    if (Date.now() - started > 60_000) throw new Error(`not ready in 60 s: ${output}`);
    await sleep(20);
  }
}

/** Ctrl-C, as an operator stops `npm start`: SIGINT to its process group. */
async function stop(started: Started): Promise<void> {
  if (!running(started.child)) return;
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  process.kill(-(started.child.pid as number), 'SIGINT');
  await exited;
}

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

interface TreeMemory {
  /** Resident set of every process, summed: shared pages (PostgreSQL's shared buffers, libraries) count once per process. */
  rssMb: number;
  /** Proportional set: each shared page split among the processes that map it, so the sum is the memory the tree really holds. */
  pssMb: number;
}

/** Memory of a process and all its descendants, from /proc (Linux). */
function treeMemory(rootPid: number): TreeMemory {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of tree) {
    try {
      rssKb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      pssKb += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return { rssMb: rssKb / 1024, pssMb: pssKb / 1024 };
}

async function storedOnce(database: { url: string | undefined; dataDir: string }, ok: number): Promise<boolean> {
  const handle = await openDatabase({ ...database, poolSize: 1, statementTimeoutMs: 60_000 });
  try {
    const row = (
      await sql<{ recorded: number; notifications: number; outbox: number; doubled: number }>`
        SELECT (SELECT count(*)::int FROM deliveries WHERE http_status < 300) AS recorded,
               (SELECT count(*)::int FROM notifications WHERE order_id LIKE 'E-%') AS notifications,
               (SELECT count(*)::int FROM outbox WHERE notification_id IN (SELECT id FROM notifications WHERE order_id LIKE 'E-%')) AS outbox,
               (SELECT count(*)::int FROM (SELECT 1 FROM outbox GROUP BY aggregateid, type HAVING count(*) > 1) d) AS doubled`.execute(handle.db)
    ).rows[0];
    // Calls still in flight when a run ends are stored without autocannon counting their reply.
    return row !== undefined && row.recorded >= ok && row.outbox === row.notifications && row.doubled === 0;
  } finally {
    await handle.close();
  }
}

async function leg(env: Record<string, string>, database: { url: string | undefined; dataDir: string }): Promise<Leg> {
  const fresh = await npmStart(env);
  await sleep(IDLE_SECONDS * 1000);
  const idle = treeMemory(fresh.child.pid as number);
  await stop(fresh);
  const again = await npmStart(env);
  try {
    await load(again.port, 'first', Math.min(3, DURATION));
    const first = await load(again.port, 'first');
    const mix = await load(again.port, 'mix');
    const loaded = treeMemory(again.child.pid as number);
    await sleep(IDLE_AFTER_SECONDS * 1000);
    const idleAfter = treeMemory(again.child.pid as number);
    await stop(again);
    if (database.url === undefined && existsSync(join(database.dataDir, 'postgres', 'postmaster.pid'))) throw new Error('the embedded PostgreSQL outlived npm start');
    const stored = await storedOnce(database, first.ok + mix.ok);
    return { firstStartMs: fresh.ms, startMs: again.ms, idle, loaded, idleAfter, first, mix, stored };
  } finally {
    await stop(again);
  }
}

const memoryText = (m: TreeMemory) => `${m.rssMb.toFixed(0)}/${m.pssMb.toFixed(0)} MB`;
const loadText = (l: Load) => `${l.rps.toFixed(0).padStart(5)} req/s p99 ${String(l.p99).padStart(4)} ms max ${String(l.max).padStart(5)} ms`;
const row = (label: string, l: Leg) =>
  `${label.padEnd(22)} start ${String(l.firstStartMs).padStart(5)} / ${String(l.startMs).padStart(5)} ms   RSS/PSS idle ${memoryText(l.idle)}, loaded ${memoryText(l.loaded)}, idle after ${memoryText(l.idleAfter)}   first: ${loadText(l.first)}   mix: ${loadText(l.mix)}   stored once: ${l.stored ? 'yes' : 'NO'}${l.first.misanswered + l.mix.misanswered + l.first.errors + l.mix.errors > 0 ? '   MISANSWERED OR ERRORS' : ''}`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  console.log(`embedded default: npm start, ${CONNECTIONS} connections, ${DURATION} s per load, ${RUNS} run(s); baseline: npm start on PostgreSQL at ${new URL(ADMIN_URL).host}; node ${process.version}`);
  console.log(`the bar: idle ≤ ${BAR.idleMb} MB, ≥ ${BAR.rps} req/s, p99 ≤ ${BAR.p99} ms, max ≤ ${BAR.max} ms, start ≤ ${BAR.firstStartMs / 1000} s first / ≤ ${BAR.startMs / 1000} s existing`);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const embedded: Leg[] = [];
  const baseline: Leg[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const dataDir = newDataDir('ipn-bench-embedded-');
      try {
        embedded.push(await leg({ DATABASE_URL: '', DATA_DIR: dataDir }, { url: undefined, dataDir }));
      } finally {
        await removeDataDir(dataDir);
      }
      const name = `ipn_bench_embedded_${process.pid}_${run}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(ADMIN_URL);
      url.pathname = `/${name}`;
      try {
        baseline.push(await leg({ DATABASE_URL: url.toString() }, { url: url.toString(), dataDir: '' }));
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
      console.log(row(`embedded (${run})`, embedded.at(-1) as Leg));
      console.log(row(`PostgreSQL server (${run})`, baseline.at(-1) as Leg));
    }
  } finally {
    await admin.end();
  }
  const ratio = (pick: (l: Leg) => number) => (mean(embedded.map(pick)) / mean(baseline.map(pick))).toFixed(2);
  console.log(`embedded / baseline: first ${ratio((l) => l.first.rps)} of the throughput, mix ${ratio((l) => l.mix.rps)}; p99 ${ratio((l) => l.first.p99)}; start ${ratio((l) => l.startMs)}; idle RSS ${ratio((l) => l.idle.rssMb)} (the baseline's server is not in its tree)`);
  const meets = embedded.every((l) => l.idle.rssMb <= BAR.idleMb && l.first.rps >= BAR.rps && l.first.p99 <= BAR.p99 && l.first.max <= BAR.max && l.firstStartMs <= BAR.firstStartMs && l.startMs <= BAR.startMs);
  console.log(`embedded within the bar in every run (idle RSS at start, throughput and latency of first notifications, start times): ${meets ? 'yes' : 'no'}`);
  const wrong = [...embedded, ...baseline].some((l) => !l.stored || l.first.misanswered + l.mix.misanswered + l.first.errors + l.mix.errors > 0);
  if (wrong) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
