import type { HttpClient } from './http-client';

/**
 * Stripe's Events API, asked by the reconciliation for the events Stripe could not deliver:
 * `GET /v1/events?delivery_success=false&created[gte]=…&created[lte]=…`, "events which are still
 * pending or have failed all delivery attempts to a webhook endpoint", kept 30 days
 * (https://docs.stripe.com/webhooks/process-undelivered-events,
 * https://docs.stripe.com/api/events/list). Bearer authentication with a restricted key.
 */

export type EventsPage =
  | { kind: 'page'; events: unknown[]; hasMore: boolean; url: string }
  /** The key is refused or lacks the Events permission: asking again will not help. */
  | { kind: 'not_checkable'; detail: string }
  | { kind: 'unavailable'; detail: string };

export interface EventsQuery {
  /** Unix seconds, both inclusive. */
  createdFrom: number;
  createdTo: number;
  /** The last event of the previous page. */
  startingAfter?: string;
}

const MAX_PAGE_BYTES = 16 * 1024 * 1024;
export const STRIPE_API_TIMEOUT_MS = 20_000;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export async function listUndeliveredEvents(client: HttpClient, apiUrl: string, apiKey: string, query: EventsQuery): Promise<EventsPage> {
  const params = new URLSearchParams({ delivery_success: 'false', 'created[gte]': String(query.createdFrom), 'created[lte]': String(query.createdTo), limit: '100' });
  if (query.startingAfter !== undefined) params.set('starting_after', query.startingAfter);
  const url = `${apiUrl}/v1/events`;
  let reply;
  try {
    reply = await client.send(`${url}?${params.toString()}`, {
      method: 'GET',
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
      signal: AbortSignal.timeout(STRIPE_API_TIMEOUT_MS),
      maxBodyBytes: MAX_PAGE_BYTES,
      overflow: 'refuse',
    });
  } catch (error) {
    return { kind: 'unavailable', detail: `${url}: ${(error as Error).message}` };
  }
  if (reply.status === 401 || reply.status === 403) return { kind: 'not_checkable', detail: `${url} refused the key (HTTP ${reply.status}): it must read Events` };
  if (reply.status !== 200) return { kind: 'unavailable', detail: `${url} answered HTTP ${reply.status}` };
  let list: unknown;
  try {
    list = JSON.parse(reply.body);
  } catch {
    return { kind: 'unavailable', detail: `${url} answered something that is not JSON` };
  }
  if (!isObject(list) || list.object !== 'list' || !Array.isArray(list.data)) return { kind: 'unavailable', detail: `${url} answered no list of events` };
  return { kind: 'page', events: list.data, hasMore: list.has_more === true, url };
}

export type PaymentIntentAnswer =
  | { kind: 'found'; paymentIntent: Record<string, unknown>; url: string }
  | { kind: 'unknown_at_platform'; detail: string }
  | { kind: 'not_checkable'; detail: string }
  | { kind: 'unavailable'; detail: string };

/** `GET /v1/payment_intents/{id}` (https://docs.stripe.com/api/payment_intents/retrieve). */
export async function getPaymentIntent(client: HttpClient, apiUrl: string, apiKey: string, id: string): Promise<PaymentIntentAnswer> {
  if (!/^pi_[A-Za-z0-9]{1,250}$/.test(id)) return { kind: 'not_checkable', detail: `${id.slice(0, 64)} is not a PaymentIntent id` };
  const url = `${apiUrl}/v1/payment_intents/${id}`;
  let reply;
  try {
    reply = await client.send(url, { method: 'GET', headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' }, signal: AbortSignal.timeout(STRIPE_API_TIMEOUT_MS), maxBodyBytes: MAX_PAGE_BYTES, overflow: 'refuse' });
  } catch (error) {
    return { kind: 'unavailable', detail: `${url}: ${(error as Error).message}` };
  }
  if (reply.status === 404) return { kind: 'unknown_at_platform', detail: `Stripe knows no PaymentIntent ${id}` };
  if (reply.status === 401 || reply.status === 403) return { kind: 'not_checkable', detail: `${url} refused the key (HTTP ${reply.status}): it must read PaymentIntents` };
  if (reply.status !== 200) return { kind: 'unavailable', detail: `${url} answered HTTP ${reply.status}` };
  let object: unknown;
  try {
    object = JSON.parse(reply.body);
  } catch {
    return { kind: 'unavailable', detail: `${url} answered something that is not JSON` };
  }
  if (!isObject(object) || object.object !== 'payment_intent' || object.id !== id) return { kind: 'unavailable', detail: `${url} answered no PaymentIntent ${id}` };
  return { kind: 'found', paymentIntent: object, url };
}
