import type { OrderIdentity } from '../domain/events';
import type { Mode } from '../domain/notification';
import { createHttpClient, type HttpClient } from '../outbound/http-client';
import { getLyraOrder } from '../outbound/lyra-api';
import { FieldError } from '../providers/fields';
import { normalizeLyraOrderTransactions, type LyraShops } from '../providers/lyra';
import type { DatabaseHandle } from '../store/database';
import type { DeliveryInput } from '../store/deliveries';
import { DirectRequestError, type Operator, type PayboxOperations } from './paybox-direct';
import { settleCall } from './settle';

/**
 * What asking a platform about one order gave:
 * - `changed`: the platform knew more, and it was applied (a missed notification, found);
 * - `unchanged`: the platform says what the service knows;
 * - `not_checkable`: the platform cannot be asked about this order (no credentials, no API to
 *   ask it by, no identifier to ask with), with why: reported, never retried, never guessed;
 * - `unknown_at_platform`: the platform knows no payment of this order (not paid, or not yet);
 * - `unavailable`: the platform did not answer: asked again later, with backoff.
 */
export const CHECK_OUTCOMES = ['changed', 'unchanged', 'not_checkable', 'unknown_at_platform', 'unavailable'] as const;
export type CheckOutcome = { outcome: (typeof CHECK_OUTCOMES)[number]; detail: string; changes: number };

export type OrderChecker = (order: OrderIdentity, why: string) => Promise<CheckOutcome>;

/** The worker's calls are recorded under this name, as an operator's are under their token's. */
export const RECONCILER: Operator = { tokenName: 'reconciliation', sourceIp: 'reconcile-worker', requestId: null };

const notCheckable = (detail: string): CheckOutcome => ({ outcome: 'not_checkable', detail, changes: 0 });

/**
 * Paybox: the Direct inquiry of each attempt the order's notifications named. A payment whose
 * notification never came cannot be asked about: Paybox Direct is asked by the transaction and
 * call numbers an IPN carries, and what its existence check (TYPE 00011, by reference and
 * amount) answers is not documented in what could be read.
 */
function payboxChecker(operations: PayboxOperations | undefined): OrderChecker {
  return async (order, why) => {
    if (operations === undefined) return notCheckable('no Paybox site has a directHmacKey: Paybox Direct cannot be asked');
    try {
      const answer = await operations.reconcile(order.orderId, order.shopId, RECONCILER);
      if (answer.unanswered === answer.checked) return { outcome: 'unavailable', detail: answer.details.join('; '), changes: 0 };
      return { outcome: answer.changed > 0 ? 'changed' : 'unchanged', detail: answer.details.join('; '), changes: answer.changed };
    } catch (error) {
      if (!(error instanceof DirectRequestError)) throw error;
      if (error.status === 404 && why === 'expected_payment') {
        return notCheckable('no notification of this payment reached the service, and Paybox Direct is asked by the numbers of one (S, T): a payment cannot be looked up by its reference; check it in the Paybox back office');
      }
      return notCheckable(error.message);
    }
  };
}

/** One request to Lyra's REST API; the official SDK allows 45 s, the worker has other orders to ask about. */
export const LYRA_API_TIMEOUT_MS = 20_000;

/**
 * Lyra: `Order/Get` by the order id, which finds form (`vads_*`) payments too. Every transaction
 * it lists goes through the same decisions as a notification, as one call of origin `reconcile`
 * whose body is Lyra's answer: what the IPN said already is a duplicate.
 */
function lyraChecker(database: DatabaseHandle, shops: LyraShops | undefined, client: HttpClient): OrderChecker {
  return async (order) => {
    const shop = shops?.get(order.shopId);
    if (shop === undefined) return notCheckable(`shop ${order.shopId} is not in LYRA_SHOPS`);
    const mode = order.mode as Mode;
    const result = await getLyraOrder(client, shop, mode, order.orderId, LYRA_API_TIMEOUT_MS);
    if (result.kind === 'unavailable') return { outcome: 'unavailable', detail: result.detail, changes: 0 };
    if (result.kind === 'not_checkable') return notCheckable(result.detail);
    if (result.kind === 'unknown_at_platform') return { outcome: 'unknown_at_platform', detail: result.detail, changes: 0 };
    let notifications;
    try {
      notifications = normalizeLyraOrderTransactions(result.answer, shop.shopId, mode, order.orderId);
    } catch (error) {
      if (error instanceof FieldError) return notCheckable(`Lyra's answer cannot be read: ${error.message}`);
      throw error;
    }
    if (notifications.length === 0) return { outcome: 'unknown_at_platform', detail: 'Lyra lists no transaction of this order', changes: 0 };
    const delivery: DeliveryInput = { provider: 'lyra', origin: 'reconcile', request_id: null, source_ip: RECONCILER.sourceIp, content_type: 'application/json', raw_body: Buffer.from(result.body), raw_query: null, signature_header: null };
    const settled = await settleCall(database, delivery, { ok: true, notifications, fetchedFrom: result.url });
    const changed = settled.verdict === 'applied';
    return { outcome: changed ? 'changed' : 'unchanged', detail: settled.reply, changes: changed ? 1 : 0 };
  };
}

/** Providers whose API this version does not ask yet: reported as such, so that nobody takes silence for a check. */
const noClient = (provider: string): OrderChecker => () => Promise.resolve(notCheckable(`this version does not ask ${provider}'s API yet: the platform's back office is the record`));

export interface OrderCheckers {
  check: OrderChecker;
  /** Closes the connections of the platforms' APIs. */
  close(): Promise<void>;
}

export function createOrderChecker(deps: { database: DatabaseHandle; payboxOperations: PayboxOperations | undefined; lyraShops: LyraShops | undefined }): OrderCheckers {
  const client = createHttpClient({ connectTimeoutMs: 5000 });
  const byProvider: Record<string, OrderChecker> = {
    paybox: payboxChecker(deps.payboxOperations),
    lyra: lyraChecker(deps.database, deps.lyraShops, client),
  };
  return {
    check: (order, why) => (byProvider[order.provider] ?? noClient(order.provider))(order, why),
    close: () => client.close(),
  };
}
