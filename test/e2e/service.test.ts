import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Service {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startService(env: Record<string, string>): Service {
  const child = spawn(tsx, ['src/main.ts'], { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

async function waitReady(port: number, service: Service): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (service.process.exitCode !== null) throw new Error(`service exited: ${service.output()}`);
    await sleep(100);
  }
  throw new Error(`service did not become ready: ${service.output()}`);
}

function simulate(port: number, ...args: string[]): string {
  const result = spawnSync(tsx, ['src/tools/simulate.ts', ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '', PORT: String(port) }, encoding: 'utf8' });
  return result.stdout + result.stderr;
}

describe('the running service (npm start, npm run simulate)', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ipn-e2e-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts with no configuration, accepts simulated notifications, stops on SIGTERM, restarts with its data', async () => {
    const port = await freePort();
    const env = { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, NODE_ENV: 'development', LYRA_SHOPS: '', DATABASE_URL: '' };
    const first = startService(env);
    await waitReady(port, first);
    expect(first.output()).toContain('DEMO CONFIGURATION');

    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1')).toContain('form AUTHORISED order E2E-1 -> HTTP 200  OK-applied: order E2E-1: AUTHORISED, order PAID');
    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1', '--resend')).toContain('HTTP 200  OK-duplicate');
    expect(simulate(port, '--format', 'rest', '--status', 'CAPTURED', '--order', 'E2E-1')).toContain('HTTP 200  OK-applied: order E2E-1: CAPTURED, order stays PAID');
    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1', '--key', 'wrong')).toContain('HTTP 401  KO-authentication failed: signature does not match');

    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startService(env);
    await waitReady(port, second);
    expect(second.output()).toMatch(/"applied":\[\]/);
    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1')).toContain('OK-duplicate');
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('refuses to start in production without LYRA_SHOPS, naming the variable', async () => {
    const service = startService({ NODE_ENV: 'production', LYRA_SHOPS: '', DATA_DIR: dataDir });
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain('ipn-receiver: invalid configuration: LYRA_SHOPS: is required in production');
  });
});
