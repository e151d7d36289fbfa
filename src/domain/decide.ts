import { isInstallmentConfig, type NormalizedNotification, type OrderStatus } from './notification';
import { deriveOrderState, isLaterInstallment, type OrderState, type TransactionState } from './order-status';
import { canTransition, isCancellation, isFailure } from './transitions';

export type NotificationOutcome = 'applied' | 'duplicate' | 'stale' | 'unknown_status';

export type DomainEventType =
  | `order.${Lowercase<OrderStatus>}`
  | 'order.partially_refunded'
  | 'payment.attempt_failed'
  | 'payment.installment';

/** A payment attempt whose amount is not the order's: flagged, never silently applied. */
export interface AmountMismatch {
  /** The amount of the order's first attempt. */
  expected: number;
  received: number;
}

export interface DomainEvent {
  type: DomainEventType;
  transaction: TransactionState | null;
  /** Set when the notification behind the event carried an amount other than the order's. */
  amountMismatch?: AmountMismatch;
}

export interface Decision {
  outcome: NotificationOutcome;
  /** One short phrase for the reply and the audit trail. */
  detail: string;
  /** The transaction to store, when it changed. */
  transaction: TransactionState | null;
  /** The order after this notification. */
  order: OrderState;
  /** Events of the transaction itself; order events come from `orderEvents` over a whole delivery. */
  events: DomainEvent[];
  amountMismatch: AmountMismatch | null;
}

export interface OrderSnapshot {
  order: OrderState;
  transactions: readonly TransactionState[];
}

const ORDER_LEVEL_STATUSES = new Set(['abandoned', 'cancelled']);

function unchanged(snapshot: OrderSnapshot, outcome: NotificationOutcome, detail: string): Decision {
  return { outcome, detail, transaction: null, order: snapshot.order, events: [], amountMismatch: null };
}

function toTransactionState(n: NormalizedNotification, transactionId: string, previous: TransactionState | undefined, notificationId: number): TransactionState {
  // A back-office resend may lack fields the original had: keep what we knew.
  return {
    transactionId,
    operation: n.operation,
    status: n.status,
    statusRaw: n.statusRaw,
    amount: n.amount ?? previous?.amount ?? null,
    currency: n.currency ?? previous?.currency ?? null,
    sequenceNumber: n.sequenceNumber ?? previous?.sequenceNumber ?? null,
    paymentConfig: n.paymentConfig ?? previous?.paymentConfig ?? null,
    failureIsFinal: n.failureIsFinal,
    lastNotificationId: notificationId,
  };
}

export function orderEvents(previous: OrderState, next: OrderState): DomainEvent[] {
  const events: DomainEvent[] = [];
  if (next.status !== previous.status) {
    events.push({ type: `order.${next.status.toLowerCase() as Lowercase<OrderStatus>}`, transaction: null });
  } else if (next.status === 'PAID' && next.refundedAmount > previous.refundedAmount) {
    events.push({ type: 'order.partially_refunded', transaction: null });
  }
  return events;
}

function transactionEvents(tx: TransactionState, all: readonly TransactionState[]): DomainEvent[] {
  if (tx.operation !== 'debit') return [];
  if (isLaterInstallment(tx, all)) return [{ type: 'payment.installment', transaction: tx }];
  if (isFailure(tx.status)) return [{ type: 'payment.attempt_failed', transaction: tx }];
  return [];
}

/**
 * The order's amount is that of its first payment attempt: a later attempt for another amount
 * (a Paybox IPN of another order of the same reference, a tampered cart) is flagged in the reply,
 * the audit trail and the events. Installments and refunds have amounts of their own.
 */
export function amountMismatchOf(tx: TransactionState, others: readonly TransactionState[]): AmountMismatch | null {
  if (tx.operation !== 'debit' || tx.amount === null || isInstallmentConfig(tx.paymentConfig)) return null;
  const first = others
    .filter((t) => t.transactionId !== tx.transactionId && t.operation === 'debit' && t.amount !== null && !isInstallmentConfig(t.paymentConfig))
    .reduce<TransactionState | undefined>((a, t) => (a === undefined || t.lastNotificationId < a.lastNotificationId ? t : a), undefined);
  if (first === undefined || first.amount === tx.amount) return null;
  return { expected: first.amount as number, received: tx.amount };
}

function decideOrderLevel(snapshot: OrderSnapshot, n: NormalizedNotification): Decision {
  if (!ORDER_LEVEL_STATUSES.has(n.status)) return unchanged(snapshot, 'unknown_status', `no transaction for status ${n.statusRaw}`);
  if (snapshot.order.abandoned) return unchanged(snapshot, 'duplicate', `${n.statusRaw} already recorded`);
  const order = deriveOrderState(snapshot.transactions, true);
  return {
    outcome: 'applied',
    detail: `order ${order.status}`,
    transaction: null,
    order,
    events: [],
    amountMismatch: null,
  };
}

/**
 * Decide what one authentic, new notification does to its order, given everything already
 * known about the order. Pure: the store supplies the snapshot (under a row lock) and writes
 * the decision.
 */
export function decideNotification(snapshot: OrderSnapshot, n: NormalizedNotification, notificationId: number): Decision {
  if (n.status === 'unknown' || n.operation === 'unknown') {
    return unchanged(snapshot, 'unknown_status', `unknown ${n.status === 'unknown' ? 'status' : 'operation'} ${n.status === 'unknown' ? n.statusRaw : (n.operationRaw ?? '')}, order unchanged`);
  }
  if (n.transactionId === null) return decideOrderLevel(snapshot, n);

  const previous = snapshot.transactions.find((t) => t.transactionId === n.transactionId);
  if (previous !== undefined) {
    if (previous.statusRaw === n.statusRaw) return unchanged(snapshot, 'duplicate', `transaction already ${n.statusRaw}`);
    if (!canTransition(previous.status, n.status, n.operation)) {
      return unchanged(snapshot, 'stale', `${n.statusRaw} is stale after ${previous.statusRaw}`);
    }
  }

  const transaction = toTransactionState(n, n.transactionId, previous, notificationId);
  const transactions = [...snapshot.transactions.filter((t) => t.transactionId !== n.transactionId), transaction];
  const order = deriveOrderState(transactions, snapshot.order.abandoned);
  const effect = order.status === snapshot.order.status ? `order stays ${order.status}` : `order ${order.status}`;
  const cancelNote = isCancellation(n.status) && order.status === 'PAID' ? ' (another attempt is paid)' : '';
  const amountMismatch = amountMismatchOf(transaction, snapshot.transactions);
  const amountNote = amountMismatch === null ? '' : `, amount ${amountMismatch.received} differs from the order's ${amountMismatch.expected}`;
  return {
    outcome: 'applied',
    detail: `${n.statusRaw}, ${effect}${cancelNote}${amountNote}`,
    transaction,
    order,
    events: transactionEvents(transaction, transactions).map((e) => (amountMismatch === null ? e : { ...e, amountMismatch })),
    amountMismatch,
  };
}

export interface DeliveryDecision {
  decisions: Decision[];
  previousOrder: OrderState;
  order: OrderState;
  /** Transaction events in notification order, then the order's change over the whole delivery. */
  events: DomainEvent[];
}

/**
 * Decide a delivery that carries several new notifications of one order (a Lyra REST answer
 * lists every attempt): each is decided on the state the previous ones left, and the order
 * event reflects where the delivery leaves the order, not every intermediate state.
 */
export function decideDelivery(
  snapshot: OrderSnapshot,
  notifications: readonly { notification: NormalizedNotification; id: number }[],
): DeliveryDecision {
  let state = snapshot;
  const decisions: Decision[] = [];
  for (const { notification, id } of notifications) {
    const decision = decideNotification(state, notification, id);
    decisions.push(decision);
    const transactions = decision.transaction === null
      ? state.transactions
      : [...state.transactions.filter((t) => t.transactionId !== decision.transaction?.transactionId), decision.transaction];
    state = { order: decision.order, transactions };
  }
  const amountMismatch = decisions.filter((d) => d.amountMismatch !== null).at(-1)?.amountMismatch ?? null;
  const orderChange = orderEvents(snapshot.order, state.order).map((e) => (amountMismatch === null ? e : { ...e, amountMismatch }));
  const events = [...decisions.flatMap((d) => d.events), ...orderChange];
  return { decisions, previousOrder: snapshot.order, order: state.order, events };
}
