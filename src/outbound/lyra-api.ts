import type { Mode } from '../domain/notification';
import { restPasswordFor, type LyraShop } from '../providers/lyra/shops';
import type { HttpClient } from './http-client';

/**
 * Lyra's REST API V4 (PayZen, Systempay, Lyra Collect…), asked by the reconciliation:
 * `POST <apiUrl>/api-payment/V4/Order/Get` with `{ "orderId" }`, HTTP Basic with the shop id and
 * the REST password of the mode (the one that signs `kr-hash`), answered in the envelope
 * `{ "status": "SUCCESS" | "ERROR", "answer": … }`
 * (https://docs.lyra.com/en/rest/V4.0/api/reference.html,
 * https://docs.lyra.com/en-EN/rest/V4.0/api/kb/authentication.html).
 */

export type LyraOrderAnswer =
  /** `V4/OrderTransactions`: the order's transactions, and the bytes they came in. */
  | { kind: 'found'; answer: unknown; body: string; url: string }
  /** `PSP_015`: more than 30 transactions; each is then asked by its uuid (`Transaction/Get`). */
  | { kind: 'too_many'; detail: string }
  /** `PSP_010`: Lyra knows no transaction of this order id. */
  | { kind: 'unknown_at_platform'; detail: string; body: string; url: string }
  /** Asking cannot work as configured: no password, credentials refused, a request Lyra refuses. */
  | { kind: 'not_checkable'; detail: string }
  /** No answer to believe now: asked again later. */
  | { kind: 'unavailable'; detail: string };

const MAX_ANSWER_BYTES = 1024 * 1024;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The envelope read: what Lyra said, or why it cannot be read. */
function readEnvelope(body: string, url: string): LyraOrderAnswer {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    return { kind: 'unavailable', detail: `${url} answered something that is not JSON` };
  }
  if (!isObject(envelope) || !isObject(envelope.answer)) return { kind: 'unavailable', detail: `${url} answered no envelope with an answer` };
  const { answer } = envelope;
  if (envelope.status === 'SUCCESS') return { kind: 'found', answer, body, url };
  const code = typeof answer.errorCode === 'string' ? answer.errorCode : 'unknown';
  const message = typeof answer.errorMessage === 'string' ? answer.errorMessage.slice(0, 200) : '';
  if (code === 'PSP_010') return { kind: 'unknown_at_platform', detail: `Lyra knows no such transaction (${code} ${message})`.trim(), body, url };
  if (code === 'PSP_015') return { kind: 'too_many', detail: `${code} ${message}`.trim() };
  // INT_* (a request Lyra refuses) and the like: asking again will not help.
  return { kind: 'not_checkable', detail: `Lyra answered ${code} ${message}`.trim() };
}

/** One service of the REST API V4 (`Order/Get`, `Transaction/Get`), its envelope read. */
async function askLyra(client: HttpClient, shop: LyraShop, mode: Mode, service: string, request: Record<string, string>, timeoutMs: number): Promise<LyraOrderAnswer> {
  const password = restPasswordFor(shop, mode);
  if (password === undefined) return { kind: 'not_checkable', detail: `shop ${shop.shopId} has no ${mode === 'TEST' ? 'testPassword' : 'productionPassword'}: the REST API cannot be asked` };
  const url = `${shop.apiUrl}/api-payment/V4/${service}`;
  let reply;
  try {
    reply = await client.send(url, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${shop.shopId}:${password}`).toString('base64')}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(timeoutMs),
      maxBodyBytes: MAX_ANSWER_BYTES,
      overflow: 'refuse',
    });
  } catch (error) {
    return { kind: 'unavailable', detail: `${url}: ${(error as Error).message}` };
  }
  // Lyra's SDK takes 200 and 401; a 401 is credentials refused, or the other mode's password.
  if (reply.status === 401) return { kind: 'not_checkable', detail: `${url} refused the ${mode} credentials of shop ${shop.shopId} (HTTP 401): check the REST password, and apiUrl for the shop's brand` };
  if (reply.status !== 200) return { kind: 'unavailable', detail: `${url} answered HTTP ${reply.status}` };
  return readEnvelope(reply.body, url);
}

/** `Order/Get`: every transaction of an order id (30 at most), form payments included. */
export function getLyraOrder(client: HttpClient, shop: LyraShop, mode: Mode, orderId: string, timeoutMs: number): Promise<LyraOrderAnswer> {
  return askLyra(client, shop, mode, 'Order/Get', { orderId }, timeoutMs);
}

/** `Transaction/Get`: one transaction by its uuid (`V4/Transaction`). */
export function getLyraTransaction(client: HttpClient, shop: LyraShop, mode: Mode, uuid: string, timeoutMs: number): Promise<LyraOrderAnswer> {
  return askLyra(client, shop, mode, 'Transaction/Get', { uuid }, timeoutMs);
}
