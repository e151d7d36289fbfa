import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request the order system received. */
export interface SinkRequest {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Parsed body. */
  event: { id: string; type: string; order: { orderId: string }; [key: string]: unknown };
  receivedAt: number;
  /** How many times this id had been received before, this one excluded. */
  previousAttempts: number;
}

export interface SinkReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before replying. */
  delayMs?: number;
}

export type SinkResponder = (request: SinkRequest) => SinkReply;

export interface Sink {
  url: string;
  requests: SinkRequest[];
  /** Requests answered 2xx, in reply order. */
  accepted: SinkRequest[];
  /** Highest number of requests of one order in progress at the same time. */
  maxConcurrentPerOrder: number;
  waitFor(predicate: (sink: Sink) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP server standing in for the merchant's order system. */
export async function startSink(respond: SinkResponder = () => ({ status: 200 })): Promise<Sink> {
  const seen = new Map<string, number>();
  const inProgress = new Map<string, number>();
  const sink: Sink = {
    url: '',
    requests: [],
    accepted: [],
    maxConcurrentPerOrder: 0,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(sink)) {
        if (Date.now() > deadline) throw new Error(`sink: condition not met within ${timeoutMs} ms (${sink.requests.length} requests, ${sink.accepted.length} accepted)`);
        await sleep(10);
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id']);
      const request: SinkRequest = { id, headers: req.headers, body, event: JSON.parse(body) as SinkRequest['event'], receivedAt: Date.now(), previousAttempts: seen.get(id) ?? 0 };
      seen.set(id, request.previousAttempts + 1);
      sink.requests.push(request);
      const order = request.event.order.orderId;
      const concurrent = (inProgress.get(order) ?? 0) + 1;
      inProgress.set(order, concurrent);
      sink.maxConcurrentPerOrder = Math.max(sink.maxConcurrentPerOrder, concurrent);
      const reply = respond(request);
      const send = () => {
        inProgress.set(order, (inProgress.get(order) ?? 1) - 1);
        if (reply.status >= 200 && reply.status < 300) sink.accepted.push(request);
        if (!res.destroyed) res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/order-events`;
  const close = sink.close;
  sink.close = () => {
    server.closeAllConnections();
    return close();
  };
  return sink;
}
