import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { ConnectTimeoutError, createHttpClient, ReplyTooLargeError } from '../../src/outbound/http-client';

/** A listening socket that never accepts: its process blocks its event loop once its backlog is set. */
const NEVER_ACCEPTS = `
const net = require('node:net');
const server = net.createServer().listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  require('node:fs').writeSync(1, server.address().port + '\\n');
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 50);
});`;

async function startNeverAccepting(): Promise<{ port: number; child: ChildProcess; fillers: Socket[] }> {
  const child = spawn(process.execPath, ['-e', NEVER_ACCEPTS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  await new Promise((resolve) => setTimeout(resolve, 150));
  // Fill the kernel's accept queue: the next connection's SYN goes unanswered.
  const fillers = Array.from({ length: 4 }, () => connect(port, '127.0.0.1').on('error', () => undefined));
  await new Promise((resolve) => setTimeout(resolve, 150));
  return { port, child, fillers };
}

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') return res.end('x'.repeat(10_000));
    if (req.url === '/redirect') return res.writeHead(302, { location: '/big' }).end();
    res.setHeader('retry-after', '7');
    res.writeHead(503).end('  down  for\nmaintenance ');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('the outbound HTTP client', () => {
  const client = createHttpClient({ connectTimeoutMs: 300 });
  afterAll(() => client.close());
  const get = (path: string, maxBodyBytes: number, overflow: 'truncate' | 'refuse') => client.send(`${base}${path}`, { method: 'GET', headers: {}, signal: AbortSignal.timeout(5000), maxBodyBytes, overflow });

  it('gives up a connection at its own connect timeout, not undici\'s coarser clock', async () => {
    const target = await startNeverAccepting();
    try {
      const started = performance.now();
      const error = await client.send(`http://127.0.0.1:${target.port}/`, { method: 'GET', headers: {}, signal: AbortSignal.timeout(10_000), maxBodyBytes: 10, overflow: 'refuse' }).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(ConnectTimeoutError);
      expect(error).toMatchObject({ code: 'CONNECT_TIMEOUT', message: 'no connection within 300 ms' });
      // undici's own timer, ticking every 500 ms, answers 300 ms after about a second.
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(800);
    } finally {
      target.fillers.forEach((s) => s.destroy());
      target.child.kill('SIGKILL');
    }
  });

  it('keeps the start of a long body when asked to truncate, and refuses it otherwise', async () => {
    expect((await get('/big', 300, 'truncate')).body).toBe('x'.repeat(300));
    await expect(get('/big', 300, 'refuse')).rejects.toBeInstanceOf(ReplyTooLargeError);
    expect((await get('/big', 10_000, 'refuse')).body).toHaveLength(10_000);
  });

  it('never follows a redirect and hands back the status and headers', async () => {
    expect((await get('/redirect', 100, 'truncate')).status).toBe(302);
    const reply = await get('/down', 100, 'truncate');
    expect(reply).toMatchObject({ status: 503, body: '  down  for\nmaintenance ' });
    expect(reply.headers['retry-after']).toBe('7');
  });

  it('ends at the caller\'s deadline', async () => {
    const slow = createServer(() => undefined);
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}/`;
      const error = await client.send(url, { method: 'GET', headers: {}, signal: AbortSignal.timeout(200), maxBodyBytes: 10, overflow: 'refuse' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TimeoutError' });
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});
