import { Agent, buildConnector, request } from 'undici';

/**
 * The one HTTP client of every call the service makes (Payline's web services, the relay's POST
 * of order events): undici's public `request` over an `Agent` whose connections time out on
 * their own, redirects never followed, and reply bodies read up to a bound.
 */

export interface HttpClientOptions {
  /** Time allowed to open a connection (TCP and TLS), so that a dead endpoint leaves time for the next. */
  connectTimeoutMs: number;
  /** Connections kept open per origin. */
  connections?: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** The caller's deadline over the whole exchange, body included. */
  signal: AbortSignal;
  /** Bytes of the reply body read at most; `truncate` keeps the start, `refuse` throws `ReplyTooLargeError`. */
  maxBodyBytes: number;
  overflow: 'truncate' | 'refuse';
  /** How the reply's bytes are read: `utf8` unless said (Paybox Direct answers in ISO-8859-1). */
  encoding?: 'utf8' | 'latin1';
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** No connection within the connect timeout. `code` as Node's own connection errors carry one. */
export class ConnectTimeoutError extends Error {
  readonly code = 'CONNECT_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`no connection within ${timeoutMs} ms`);
  }
}

export class ReplyTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`reply too large: more than ${maxBytes} bytes`);
  }
}

export interface HttpClient {
  send(url: string, init: HttpRequest): Promise<HttpReply>;
  close(): Promise<void>;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const dispatcher = new Agent({ connect: timedConnector(options.connectTimeoutMs), connections: options.connections ?? null });
  return {
    async send(url, init) {
      const reply = await request(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal, dispatcher });
      const body = await readBody(reply.body, init.maxBodyBytes, init.overflow, init.encoding ?? 'utf8');
      return { status: reply.statusCode, headers: reply.headers, body };
    },
    close: () => dispatcher.close(),
  };
}

/**
 * undici's connector with a timer of our own: undici checks its connect timeout on a coarse clock
 * (measured: 1,500 ms gave up after 2,000 ms), and a failover budget counts in milliseconds. Its
 * own timeout, a second later, still closes the socket given up on.
 */
function timedConnector(timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs + 1000 });
  return (options, callback) => {
    let answered = false;
    const timer = setTimeout(() => {
      answered = true;
      callback(new ConnectTimeoutError(timeoutMs), null);
    }, timeoutMs);
    connect(options, (...args) => {
      clearTimeout(timer);
      if (!answered) return callback(...args);
      args[1]?.destroy();
    });
  };
}

async function readBody(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }, maxBytes: number, overflow: HttpRequest['overflow'], encoding: 'utf8' | 'latin1'): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) break;
    }
  } catch (error) {
    // A reply cut short while its body streams: what came is kept when the start is enough.
    if (overflow === 'refuse') throw error;
  } finally {
    body.destroy();
  }
  if (size > maxBytes && overflow === 'refuse') throw new ReplyTooLargeError(maxBytes);
  return Buffer.concat(chunks).subarray(0, maxBytes).toString(encoding);
}
