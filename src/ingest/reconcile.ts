import type { Logger } from 'pino';
import type { OrderIdentity } from '../domain/events';
import type { Mode } from '../domain/notification';
import type { Metrics } from '../metrics';
import { createHttpClient, type HttpClient } from '../outbound/http-client';
import { getLyraOrder, getLyraTransaction, type LyraOrderAnswer } from '../outbound/lyra-api';
import { fetchPaylineResult, type PaylineReceiver } from '../outbound/payline';
import { PAYLINE_FETCHES } from '../outbound/payline-fetcher';
import { FieldError } from '../providers/fields';
import { normalizeLyraOrderTransactions, type LyraShop, type LyraShops } from '../providers/lyra';
import type { StripeEndpoint } from '../providers/stripe/events';
import type { DatabaseHandle } from '../store/database';
import { latestTriggerOf, transactionIdsOf } from '../store/reconcile';
import { DirectRequestError, type PayboxOperations } from './paybox-direct';
import { applyFromPlatform, notCheckable, outcomeOf, RECONCILER, type CheckOutcome } from './reconciler';
import { checkPaymentIntent, sweepStripeEvents } from './stripe-reconcile';

export type OrderChecker = (order: OrderIdentity, why: string) => Promise<CheckOutcome>;

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

/** `Transaction/Get` of each transaction of the order known here, as one `Order/Get` answer would list them. */
async function lyraTransactionsOneByOne(database: DatabaseHandle, client: HttpClient, shop: LyraShop, mode: Mode, order: OrderIdentity): Promise<LyraOrderAnswer> {
  const known = await transactionIdsOf(database.db, order);
  if (known.length === 0) return { kind: 'not_checkable', detail: 'Lyra lists more than 30 transactions for this order id (PSP_015), and none is known here to ask by its uuid' };
  const transactions: unknown[] = [];
  let url = '';
  for (const { transactionId } of known) {
    const answer = await getLyraTransaction(client, shop, mode, transactionId, LYRA_API_TIMEOUT_MS);
    if (answer.kind !== 'found') return answer.kind === 'unknown_at_platform' ? { kind: 'not_checkable', detail: `transaction ${transactionId}: ${answer.detail}` } : answer;
    transactions.push(answer.answer);
    url = answer.url;
  }
  const answer = { orderId: order.orderId, shopId: shop.shopId, transactions, _type: 'V4/OrderTransactions' };
  return { kind: 'found', answer, body: JSON.stringify(answer), url };
}

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
    let result = await getLyraOrder(client, shop, mode, order.orderId, LYRA_API_TIMEOUT_MS);
    // More than 30 transactions: those known here are asked one by one.
    if (result.kind === 'too_many') result = await lyraTransactionsOneByOne(database, client, shop, mode, order);
    if (result.kind === 'unavailable') return { outcome: 'unavailable', detail: result.detail, changes: 0 };
    if (result.kind === 'not_checkable' || result.kind === 'too_many') return notCheckable(result.detail);
    if (result.kind === 'unknown_at_platform') return { outcome: 'unknown_at_platform', detail: result.detail, changes: 0 };
    let notifications;
    try {
      notifications = normalizeLyraOrderTransactions(result.answer, shop.shopId, mode, order.orderId);
    } catch (error) {
      if (error instanceof FieldError) return notCheckable(`Lyra's answer cannot be read: ${error.message}`);
      throw error;
    }
    if (notifications.length === 0) return { outcome: 'unknown_at_platform', detail: 'Lyra lists no transaction of this order', changes: 0 };
    return outcomeOf(await applyFromPlatform(database, { provider: 'lyra', url: result.url, json: result.body }, { ok: true, notifications }));
  };
}

/**
 * Payline: `getWebPaymentDetails` again, by the token of the order's notification (with the
 * usual failover): a payment in progress then has its final result. A payment whose
 * notification never came has no token here: Payline is asked by the token `doWebPayment` gave
 * the shop.
 */
function paylineChecker(database: DatabaseHandle, receiver: PaylineReceiver | undefined): OrderChecker {
  return async (order) => {
    if (receiver === undefined) return notCheckable('Payline is not configured (PAYLINE_MERCHANTS)');
    const query = await latestTriggerOf(database.db, order);
    if (query === null) return notCheckable("no Payline notification of this order is kept here, and Payline's web services are asked by the token it carries: look the payment up in Payline's administration centre");
    const result = await fetchPaylineResult(query, receiver, AbortSignal.timeout(PAYLINE_FETCHES.attemptTimeoutMs));
    if (!result.ok) return result.rejection.verdict === 'unavailable' ? { outcome: 'unavailable', detail: result.rejection.reason, changes: 0 } : notCheckable(result.rejection.reason);
    if (result.deferred !== undefined) return { outcome: 'unavailable', detail: result.ignored ?? 'Payline did not answer in time', changes: 0 };
    if (result.notifications.length === 0) return { outcome: 'unchanged', detail: result.ignored ?? 'nothing to apply', changes: 0 };
    return outcomeOf(await applyFromPlatform(database, { provider: 'payline', query }, result));
  };
}

/** A provider the service does not know: reported, so that nobody takes silence for a check. */
const noClient = (provider: string): OrderChecker => () => Promise.resolve(notCheckable(`no API is asked for provider ${provider}`));

/** Stripe: an order's PaymentIntent (the undelivered events are read by the sweep, stripe-reconcile.ts). */
function stripeChecker(database: DatabaseHandle, stripe: OrderCheckerDeps['stripe'], client: HttpClient): OrderChecker {
  return async (order) => {
    if (stripe === undefined) return notCheckable('Stripe is not configured (STRIPE_ENDPOINTS)');
    const transactions = await transactionIdsOf(database.db, order);
    return checkPaymentIntent({ database, endpoints: stripe.endpoints, apiUrl: stripe.apiUrl, client }, order, transactions);
  };
}

export interface OrderCheckers {
  check: OrderChecker;
  /** What the worker reads at each sweep besides its queue: the platforms' lists of undelivered events. */
  sweeps: (() => Promise<void>)[];
  /** Closes the connections of the platforms' APIs. */
  close(): Promise<void>;
}

export interface OrderCheckerDeps {
  database: DatabaseHandle;
  payboxOperations: PayboxOperations | undefined;
  lyraShops: LyraShops | undefined;
  stripe?: { endpoints: readonly StripeEndpoint[]; apiUrl: string } | undefined;
  /** Payline's merchants and clients, shared with the route and the deferred fetches. */
  payline?: PaylineReceiver | undefined;
  /** RECONCILE_AFTER_S: what is younger is left to the platforms' own retries. */
  afterS?: number;
  metrics?: Metrics;
  logger?: Logger;
}

export function createOrderChecker(deps: OrderCheckerDeps): OrderCheckers {
  const client = createHttpClient({ connectTimeoutMs: 5000 });
  const byProvider: Record<string, OrderChecker> = {
    paybox: payboxChecker(deps.payboxOperations),
    lyra: lyraChecker(deps.database, deps.lyraShops, client),
    stripe: stripeChecker(deps.database, deps.stripe, client),
    payline: paylineChecker(deps.database, deps.payline),
  };
  const { stripe } = deps;
  const sweeps = stripe === undefined ? [] : [() => sweepStripeEvents({ database: deps.database, endpoints: stripe.endpoints, apiUrl: stripe.apiUrl, client, afterS: deps.afterS ?? 1800, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), ...(deps.logger === undefined ? {} : { logger: deps.logger }) })];
  return {
    check: (order, why) => (byProvider[order.provider] ?? noClient(order.provider))(order, why),
    sweeps,
    close: () => client.close(),
  };
}
