import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { capturedLogs } from './log-capture';

/** The service as `npm start` runs it, in its own process. */
export const root = join(__dirname, '../..');
export const tsx = join(root, 'node_modules/.bin/tsx');

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface Service {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startService(env: Record<string, string>): Service {
  // node itself with tsx's loader, not the tsx wrapper: a signal (SIGKILL included) reaches the service.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.on('close', () => capturedLogs.push(output));
  return { process: child, output: () => output, exited };
}

/** Ready within a minute: the embedded database starts in seconds, longer on a machine busy with other test files. */
export async function waitReady(port: number, service: Service): Promise<void> {
  for (let i = 0; i < 600; i++) {
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


/** The service logs asynchronously: a line logged before it became ready may reach us just after. */
export async function waitForOutput(service: Service, text: string): Promise<void> {
  for (let i = 0; i < 100 && !service.output().includes(text); i++) await sleep(50);
}
