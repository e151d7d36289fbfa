import type { Mode, NormalizedNotification, Operation, TransactionStatus } from '../../domain/notification';
import { FieldError } from '../fields';

export interface StripeEndpoint {
  /** Names the endpoint; the shop id of its orders (a Connect account id, or a name of yours). */
  id: string;
  /** `whsec_…` secrets; two during a roll. */
  secrets: string[];
  /** Where the order id is in the event's object, first found wins (default metadata.order_id, then client_reference_id). */
  orderIdPaths: string[][];
  /** A restricted key (`rk_…`) that reads Events: the reconciliation's, for events Stripe could not deliver. */
  apiKey?: string;
}

export interface StripeEvent {
  id: string;
  type: string;
  livemode: boolean;
  /** Connect: the connected account the event happened on. */
  account: string | null;
  created: number | null;
  object: Record<string, unknown>;
}

/** What an event means for an order: notifications to record, or a reason to record it only. */
export type StripeMeaning = { notifications: NormalizedNotification[] } | { ignored: string };

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The envelope every Stripe event has; anything else is not a Stripe event. */
export function parseStripeEvent(json: unknown): StripeEvent {
  if (!isObject(json) || json.object !== 'event') throw new FieldError('not a Stripe event (object must be "event")');
  const { id, type, livemode, created, data, account } = json;
  if (typeof id !== 'string' || !/^evt_[A-Za-z0-9_]{1,250}$/.test(id)) throw new FieldError('id is not an event id (evt_…)');
  if (typeof type !== 'string' || type.length > 64) throw new FieldError('type is missing');
  if (typeof livemode !== 'boolean') throw new FieldError('livemode is missing');
  if (!isObject(data) || !isObject(data.object)) throw new FieldError('data.object is missing');
  if (account !== undefined && account !== null && (typeof account !== 'string' || !/^acct_[A-Za-z0-9]{1,64}$/.test(account))) throw new FieldError('account is not an account id (acct_…)');
  return { id, type, livemode, account: typeof account === 'string' ? account : null, created: typeof created === 'number' ? created : null, object: data.object };
}

function text(object: JsonObject, name: string, max = 255): string | null {
  const value = object[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > max) throw new FieldError(`${name} is not a string of at most ${max} characters`);
  return value;
}

/** `payment_intent` and similar fields hold an id, or the object when expanded. */
function idOf(object: JsonObject, name: string): string | null {
  const value = object[name];
  if (isObject(value)) return text(value, 'id', 255);
  return text(object, name, 255);
}

function amount(object: JsonObject, ...names: string[]): number | null {
  for (const name of names) {
    const value = object[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new FieldError(`${name} is not an amount in minor units`);
    return value;
  }
  return null;
}

function currency(object: JsonObject): string | null {
  const value = text(object, 'currency', 3);
  if (value !== null && !/^[a-z]{3}$/.test(value)) throw new FieldError('currency is not an ISO 4217 code');
  return value?.toUpperCase() ?? null;
}

function at(object: JsonObject, path: readonly string[]): unknown {
  return path.reduce<unknown>((value, key) => (isObject(value) ? value[key] : undefined), object);
}

/** The order id at the first configured path that holds one; '' when none does (refunds: found through their payment). */
export function orderIdOf(object: JsonObject, paths: readonly (readonly string[])[]): string {
  for (const path of paths) {
    const value = at(object, path);
    if (typeof value === 'string' && value !== '') {
      if (value.length > 255) throw new FieldError(`${path.join('.')} is longer than 255 characters`);
      return value;
    }
  }
  return '';
}

interface Shape {
  transactionId: string | null;
  status: TransactionStatus;
  operation: Operation;
  amount: number | null;
  failureIsFinal: boolean;
}

/**
 * What each PaymentIntent event does. The PaymentIntent is the payment; a failed attempt is a
 * transaction of its own, because Orchestration may retry the same PaymentIntent on another
 * processor and succeed (https://docs.stripe.com/payments/orchestration/retries): the failure is recorded and emitted, and the
 * order stays open until the PaymentIntent succeeds or is canceled.
 */
function paymentIntentShape(type: string, pi: JsonObject, eventId: string): Shape | null {
  const id = text(pi, 'id', 255);
  if (id === null) throw new FieldError('data.object.id is missing');
  const total = amount(pi, 'amount');
  const debit = (status: TransactionStatus): Shape => ({ transactionId: id, status, operation: 'debit', amount: total, failureIsFinal: true });
  switch (type) {
    case 'payment_intent.succeeded':
      return { ...debit('captured'), amount: amount(pi, 'amount_received', 'amount') };
    case 'payment_intent.amount_capturable_updated':
      return { ...debit('authorised'), amount: amount(pi, 'amount_capturable', 'amount') };
    case 'payment_intent.processing':
    case 'payment_intent.requires_action':
      return debit('pending');
    case 'payment_intent.canceled':
      return debit('cancelled');
    case 'payment_intent.payment_failed': {
      const error = isObject(pi.last_payment_error) ? pi.last_payment_error : {};
      const attempt = idOf(error, 'charge') ?? idOf(pi, 'latest_charge') ?? eventId;
      return { transactionId: `${id}:${attempt}`, status: 'refused', operation: 'debit', amount: total, failureIsFinal: false };
    }
    default:
      return null;
  }
}

/** A Checkout Session carries its PaymentIntent once paid; the session itself before. */
function checkoutShape(type: string, session: JsonObject, eventId: string): Shape | null {
  const payment = idOf(session, 'payment_intent') ?? text(session, 'id', 255);
  const total = amount(session, 'amount_total');
  const debit = (status: TransactionStatus): Shape => ({ transactionId: payment, status, operation: 'debit', amount: total, failureIsFinal: true });
  switch (type) {
    case 'checkout.session.completed': {
      const paymentStatus = text(session, 'payment_status', 32);
      return debit(paymentStatus === 'paid' || paymentStatus === 'no_payment_required' ? 'captured' : 'pending');
    }
    case 'checkout.session.async_payment_succeeded':
      return debit('captured');
    case 'checkout.session.async_payment_failed':
      return { ...debit('refused'), transactionId: `${payment}:${eventId}` };
    case 'checkout.session.expired':
      // The buyer never paid: nothing but the order to close.
      return { transactionId: null, status: 'cancelled', operation: 'debit', amount: total, failureIsFinal: true };
    default:
      return null;
  }
}

const REFUND_STATUS: Readonly<Record<string, TransactionStatus>> = {
  succeeded: 'captured',
  pending: 'pending',
  requires_action: 'pending',
  failed: 'refused',
  canceled: 'cancelled',
};

function refundShape(refund: JsonObject): Shape {
  const id = text(refund, 'id', 255);
  if (id === null) throw new FieldError('refund id is missing');
  const status = text(refund, 'status', 32);
  return { transactionId: id, status: REFUND_STATUS[status ?? ''] ?? 'unknown', operation: 'refund', amount: amount(refund, 'amount'), failureIsFinal: true };
}

/** The refunds an event is about: each is a transaction of its own, so partial refunds add up. */
function refunds(type: string, object: JsonObject): JsonObject[] | null {
  if (type.startsWith('refund.') || type === 'charge.refund.updated') return [object];
  if (type !== 'charge.refunded') return null;
  const list = isObject(object.refunds) && Array.isArray(object.refunds.data) ? object.refunds.data.filter(isObject) : [];
  return list;
}

/**
 * Turns a verified event into notifications. Events about nothing an order cares about
 * (customers, invoices…) are recorded and answered 2xx, never refused: a refusal would make
 * Stripe retry them for days and finally disable the endpoint.
 */
export function normalizeStripeEvent(event: StripeEvent, endpoint: StripeEndpoint): StripeMeaning {
  const object = event.object;
  const mode: Mode = event.livemode ? 'PRODUCTION' : 'TEST';
  const base = {
    provider: 'stripe' as const,
    format: 'event',
    // A Connect platform's endpoint receives the events of every connected account: each is a shop
    // of its own, so two accounts' orders never mix even with the same order id.
    shopId: event.account ?? endpoint.id,
    mode,
    statusRaw: event.type,
    operationRaw: null,
    currency: currency(object),
    sequenceNumber: null,
    paymentConfig: null,
    source: null,
    eventTime: event.created === null ? null : new Date(event.created * 1000).toISOString(),
    eventId: event.id,
  };
  const refundList = refunds(event.type, object);
  if (refundList !== null) {
    if (refundList.length === 0) return { ignored: 'charge.refunded without its refunds listed: subscribe to refund.* events' };
    const paymentOf = idOf(refundList[0] as JsonObject, 'payment_intent') ?? idOf(object, 'payment_intent');
    const orderId = orderIdOf(refundList[0] as JsonObject, endpoint.orderIdPaths) || orderIdOf(object, endpoint.orderIdPaths);
    if (orderId === '' && paymentOf === null) throw new FieldError('the refund names neither an order id nor its payment_intent');
    return {
      notifications: refundList.map((refund) => ({ ...base, ...refundShape(refund), currency: currency(refund) ?? base.currency, orderId, paymentOf })),
    };
  }
  const shape = event.type.startsWith('payment_intent.') ? paymentIntentShape(event.type, object, event.id) : event.type.startsWith('checkout.session.') ? checkoutShape(event.type, object, event.id) : null;
  if (shape === null) return { ignored: `event type ${event.type} does not change an order` };
  const orderId = orderIdOf(object, endpoint.orderIdPaths);
  if (orderId === '') throw new FieldError(`no order id at ${endpoint.orderIdPaths.map((p) => p.join('.')).join(' or ')}`);
  return { notifications: [{ ...base, ...shape, orderId }] };
}
