import type { Mode, Provider, TransactionStatus } from './notification';
import type { NotificationOutcome } from './decide';
import { canTransition, isCancellation, isFailure, isSuccess } from './transitions';

/**
 * What a platform says about a buyer's saved payment methods and subscriptions, apart from
 * orders: a token (Lyra "alias") created or updated, a subscription created, an installment of a
 * subscription paid or refused. Each is kept per shop, with its current state, and emits its own
 * events; none of them pays an order.
 */

interface WalletSubject {
  provider: Provider;
  shopId: string;
  mode: Mode;
}

/** The card behind a token, as far as the merchant needs it to charge it later: never the number. */
export interface CardSummary {
  brand: string | null;
  last4: string | null;
  expiryMonth: number | null;
  expiryYear: number | null;
}

export interface PaymentMethodNotification extends WalletSubject {
  kind: 'payment_method';
  token: string;
  /** The merchant's customer reference (`vads_cust_id`, REST `customer.reference`). */
  customerId: string | null;
  /** `vads_identifier_status` (CREATED, UPDATED, NOT_CREATED…), or `RETURNED` when only a token is given (REST). */
  statusRaw: string;
  card: CardSummary;
}

export interface SubscriptionNotification extends WalletSubject {
  kind: 'subscription';
  subscriptionId: string;
  /** The token the installments are charged to; '' when not given. */
  token: string;
  customerId: string | null;
  /** `vads_recurrence_status`: CREATED, NOT_CREATED, ABANDONED. */
  statusRaw: string;
  amount: number | null;
  currency: string | null;
  /** The iCalendar RRULE of the installments (`vads_sub_desc`). */
  rule: string | null;
  /** YYYY-MM-DD. */
  effectDate: string | null;
  initialAmount: number | null;
  initialAmountCount: number | null;
  /** The order of the call that created it, when it had one. */
  orderId: string | null;
}

export interface InstallmentNotification extends WalletSubject {
  kind: 'installment';
  subscriptionId: string;
  token: string;
  recurrenceNumber: number;
  transactionId: string | null;
  status: TransactionStatus;
  statusRaw: string;
  amount: number | null;
  currency: string | null;
}

export type WalletNotification = PaymentMethodNotification | SubscriptionNotification | InstallmentNotification;

export type WalletEventType = 'payment_method.saved' | 'payment_method.updated' | 'subscription.created' | 'subscription.payment_succeeded' | 'subscription.payment_failed';

export interface WalletDecision {
  outcome: NotificationOutcome;
  /** One short phrase for the reply and the audit trail. */
  detail: string;
  /** The event to emit, when the state changed in a way the merchant acts on. */
  event: WalletEventType | null;
}

/** The stored state of a token. */
export interface StoredPaymentMethod {
  statusRaw: string;
  customerId: string | null;
  card: CardSummary;
}

const SAVED = new Set(['CREATED', 'RETURNED']);
const UPDATED = 'UPDATED';

const sameCard = (a: CardSummary, b: CardSummary): boolean =>
  a.brand === b.brand && a.last4 === b.last4 && a.expiryMonth === b.expiryMonth && a.expiryYear === b.expiryYear;

/**
 * A token created or updated is saved and announced once; a resend that changes nothing is a
 * duplicate; a token that was not created or not updated changes nothing (the buyer's card stays
 * as it was) and is recorded with its status.
 */
export function decidePaymentMethod(stored: StoredPaymentMethod | null, n: PaymentMethodNotification): WalletDecision {
  if (!SAVED.has(n.statusRaw) && n.statusRaw !== UPDATED) {
    return { outcome: 'unknown_status', detail: `payment method ${n.statusRaw}, nothing saved`, event: null };
  }
  if (stored !== null && sameCard(stored.card, n.card) && (n.customerId === null || stored.customerId === n.customerId)) {
    return { outcome: 'duplicate', detail: 'payment method already saved', event: null };
  }
  const updated = stored !== null || n.statusRaw === UPDATED;
  return { outcome: 'applied', detail: updated ? 'payment method updated' : 'payment method saved', event: updated ? 'payment_method.updated' : 'payment_method.saved' };
}

/** A subscription is announced when it is created; anything else about it is recorded only. */
/** A subscription as stored: its platform status. */
export interface StoredSubscription {
  statusRaw: string;
}

export function decideSubscription(stored: StoredSubscription | null, n: SubscriptionNotification): WalletDecision {
  if (n.statusRaw !== 'CREATED') return { outcome: 'unknown_status', detail: `subscription ${n.subscriptionId} ${n.statusRaw}, nothing created`, event: null };
  if (stored?.statusRaw === 'CREATED') return { outcome: 'duplicate', detail: `subscription ${n.subscriptionId} already created`, event: null };
  return { outcome: 'applied', detail: `subscription ${n.subscriptionId} created`, event: 'subscription.created' };
}

/** The stored state of one installment of a subscription. */
export interface StoredInstallment {
  status: TransactionStatus;
  statusRaw: string;
}

/**
 * An installment is a payment of its subscription, decided by the transition rules of any
 * payment: a repeated status is a duplicate (a back-office resend), a status that would move it
 * backwards is stale. Its success and its failure are each announced once.
 */
export function decideInstallment(stored: StoredInstallment | null, n: InstallmentNotification): WalletDecision {
  const label = `subscription ${n.subscriptionId} installment ${n.recurrenceNumber}`;
  if (n.status === 'unknown') return { outcome: 'unknown_status', detail: `${label}: unknown status ${n.statusRaw}`, event: null };
  if (stored !== null) {
    if (stored.statusRaw === n.statusRaw) return { outcome: 'duplicate', detail: `${label} already ${n.statusRaw}`, event: null };
    if (!canTransition(stored.status, n.status)) return { outcome: 'stale', detail: `${label}: ${n.statusRaw} is stale after ${stored.statusRaw}`, event: null };
  }
  return { outcome: 'applied', detail: `${label}: ${n.statusRaw}`, event: installmentEvent(stored?.status ?? null, n.status) };
}

function installmentEvent(previous: TransactionStatus | null, next: TransactionStatus): WalletEventType | null {
  if (isSuccess(next)) return previous !== null && isSuccess(previous) ? null : 'subscription.payment_succeeded';
  if (isFailure(next) || isCancellation(next)) return 'subscription.payment_failed';
  return null;
}

/** The outbox aggregate of a token, or of a subscription: its events keep their order. */
export function walletAggregate(n: WalletNotification): { type: 'payment_method' | 'subscription'; id: string } {
  const base = `${n.provider}:${n.shopId}:${n.mode}`;
  return n.kind === 'payment_method' ? { type: 'payment_method', id: `${base}:${n.token}` } : { type: 'subscription', id: `${base}:${n.subscriptionId}` };
}

/** The JSON body of a wallet event, as the relay delivers it. */
export function buildWalletEventPayload(eventId: string, type: WalletEventType, n: WalletNotification, occurredAt: Date) {
  const common = { id: eventId, type, occurredAt: occurredAt.toISOString(), provider: n.provider, shopId: n.shopId, mode: n.mode };
  switch (n.kind) {
    case 'payment_method':
      return { ...common, paymentMethod: { token: n.token, customerId: n.customerId, status: n.statusRaw, card: n.card } };
    case 'subscription':
      return {
        ...common,
        subscription: {
          id: n.subscriptionId,
          token: n.token === '' ? null : n.token,
          customerId: n.customerId,
          amount: n.amount,
          currency: n.currency,
          rule: n.rule,
          effectDate: n.effectDate,
          initialAmount: n.initialAmount,
          initialAmountCount: n.initialAmountCount,
          orderId: n.orderId,
        },
      };
    case 'installment':
      return {
        ...common,
        subscription: { id: n.subscriptionId, token: n.token === '' ? null : n.token },
        installment: { number: n.recurrenceNumber, transactionId: n.transactionId, status: n.status, statusRaw: n.statusRaw, amount: n.amount, currency: n.currency },
      };
  }
}
