import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'pass' | 'cut' | 'stall';

/**
 * A TCP proxy between the service and PostgreSQL that a test controls: `cut` drops every
 * connection and refuses new ones, `stall` accepts but never forwards a byte (a database that
 * hangs), `pass` forwards again (connections stalled meanwhile are dropped, as a healed network
 * partition leaves them). The target is PostgreSQL's TCP address or its unix socket (the embedded
 * server listens on a socket only).
 */
export type ProxyTarget = { host: string; port: number } | { socketPath: string };

/** The address of the server a PostgreSQL URL names: `?host=/folder` is a unix socket folder, as libpq reads it. */
export function proxyTargetOf(databaseUrl: string): ProxyTarget {
  const url = new URL(databaseUrl);
  const port = Number(url.port || 5432);
  const socketFolder = url.searchParams.get('host');
  if (socketFolder?.startsWith('/')) return { socketPath: `${socketFolder}/.s.PGSQL.${port}` };
  return { host: url.hostname, port };
}

export class TcpProxy {
  private mode: ProxyMode = 'pass';
  private readonly pairs = new Set<[Socket, Socket | null]>();
  private server: Server | null = null;
  port = 0;

  constructor(private readonly target: ProxyTarget) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    if (this.mode === 'stall') {
      this.pairs.add([client, null]);
      return;
    }
    const upstream = 'socketPath' in this.target ? createConnection(this.target.socketPath) : createConnection(this.target.port, this.target.host);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const forget = () => this.pairs.delete(pair);
    client.on('close', () => {
      upstream.destroy();
      forget();
    });
    upstream.on('close', () => {
      client.destroy();
      forget();
    });
    client.on('data', (chunk) => {
      if (this.mode === 'pass') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (this.mode === 'pass') client.write(chunk);
    });
  }

  set(mode: ProxyMode): void {
    const previous = this.mode;
    this.mode = mode;
    if (mode === 'cut' || (mode === 'pass' && previous === 'stall')) this.dropAll();
  }

  private dropAll(): void {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
