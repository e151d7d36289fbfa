import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startService, waitReady, type Service } from '../helpers/service';
import { newDataDir, removeDataDir } from '../helpers/data-dir';

/** Slow clients are cut by the HTTP timeouts, and a connection cap holds against a socket flood. */
describe('slow clients and too many connections', () => {
  let dataDir: string;
  let service: Service;
  let port: number;

  beforeAll(async () => {
    dataDir = newDataDir('ipn-slow-');
    port = await freePort();
    service = startService({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      LYRA_SHOPS: '',
      NODE_ENV: 'development',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      MAX_CONNECTIONS: '6',
    });
    await waitReady(port, service);
  });
  afterAll(async () => {
    service.process.kill('SIGTERM');
    await service.exited;
    await removeDataDir(dataDir);
  });

  const open = async (): Promise<Socket> => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    return socket;
  };
  const closedWithin = (socket: Socket, ms: number) =>
    Promise.race([new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))), sleep(ms).then(() => false)]);

  /** Writes `text` one byte every `everyMs` until the socket closes or the text ends. */
  async function trickle(socket: Socket, text: string, everyMs: number): Promise<void> {
    for (const byte of text) {
      if (socket.destroyed) return;
      socket.write(byte);
      await sleep(everyMs);
    }
  }

  it('cuts a client that trickles its headers', async () => {
    const socket = await open();
    const started = Date.now();
    void trickle(socket, `POST /ipn/lyra HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Padding: ${'a'.repeat(200)}\r\n\r\n`, 100);
    expect(await closedWithin(socket, 5000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3500);
  });

  it('cuts a client that trickles its body', async () => {
    const socket = await open();
    const started = Date.now();
    socket.write('POST /ipn/lyra HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\n');
    void trickle(socket, 'a'.repeat(500), 100);
    expect(await closedWithin(socket, 6000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(4500);
  });

  it('refuses connections over the cap, and serves again once they are gone', async () => {
    const held = await Promise.all(Array.from({ length: 6 }, open));
    const extra = await open();
    expect(await closedWithin(extra, 1000)).toBe(true);
    for (const socket of held) socket.destroy();
    await sleep(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
