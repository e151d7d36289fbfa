import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Stripe's Events API, for the tests and the simulator only: `GET
 * /v1/events` with a Bearer key, `delivery_success=false`, `created[gte]`, `created[lte]`,
 * `limit` and `starting_after`, answered as Stripe lists: newest first, `{ "object": "list",
 * "data", "has_more", "url" }`; 401 for a key it does not know.
 */

export interface FakeStripeEvent {
  /** The event as Stripe renders it (its JSON). */
  json: string;
  id: string;
  created: number;
  /** Whether a webhook delivery succeeded: only undelivered ones are listed with delivery_success=false. */
  delivered: boolean;
}

export interface FakeStripeApi {
  url: string;
  events: FakeStripeEvent[];
  /** By id: `GET /v1/payment_intents/{id}` answers the object, 404 for another id. */
  paymentIntents: Map<string, Record<string, unknown>>;
  behaviour: 'answer' | 'http503';
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeStripeApi(apiKeys: readonly string[], port = 0): Promise<FakeStripeApi> {
  const fake = { events: [], paymentIntents: new Map(), behaviour: 'answer', requests: [] } as unknown as FakeStripeApi;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const intent = /^\/v1\/payment_intents\/([A-Za-z0-9_]+)$/.exec(url.pathname)?.[1];
    if (req.method !== 'GET' || (url.pathname !== '/v1/events' && intent === undefined)) return void res.writeHead(404).end();
    fake.requests.push(`${url.pathname}${url.search}`);
    if (fake.behaviour === 'http503') return void res.writeHead(503).end();
    const key = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (key === undefined || !apiKeys.includes(key)) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}');
    if (intent !== undefined) {
      const object = fake.paymentIntents.get(intent);
      if (object === undefined) return void res.writeHead(404, { 'content-type': 'application/json' }).end(`{"error":{"code":"resource_missing","type":"invalid_request_error","message":"No such payment_intent: '${intent}'"}}`);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(object));
    }
    const from = Number(url.searchParams.get('created[gte]') ?? 0);
    const to = Number(url.searchParams.get('created[lte]') ?? Number.MAX_SAFE_INTEGER);
    const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 10));
    const undelivered = url.searchParams.get('delivery_success') === 'false';
    let listed = fake.events.filter((e) => e.created >= from && e.created <= to && (!undelivered || !e.delivered)).sort((a, b) => b.created - a.created);
    const after = url.searchParams.get('starting_after');
    if (after !== null) listed = listed.slice(listed.findIndex((e) => e.id === after) + 1);
    const page = listed.slice(0, limit);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"object":"list","data":[${page.map((e) => e.json).join(',')}],"has_more":${listed.length > limit},"url":"/v1/events"}`);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
