import type { NormalizedNotification, TransactionStatus } from '../../domain/notification';
import type { OrderState, TransactionState } from '../../domain/order-status';
import { isSuccess } from '../../domain/transitions';
import { inquiryState, type DirectWrite, type InquiryState } from './direct';
import type { PayboxSite } from './sites';

/**
 * What the service does with Paybox Direct for an order, as pure functions: which transaction an
 * operation is for and whether the order allows it, and what an accepted operation or an
 * inquiry's answer means as a notification, which then goes through the same decisions as an IPN.
 */

/** A transaction of the order, with the call number T Paybox Direct is asked by (from its IPN). */
export interface PayboxTransaction extends TransactionState {
  callNumber: string | null;
}

export interface OperationRequest {
  operation: DirectWrite;
  /** Minor units; absent: the whole amount the operation may take. */
  amount?: number;
}

/** A Direct question's target: an IPN's transaction with its S and T numbers. */
export interface DirectTarget {
  transactionId: string;
  callNumber: string;
  amount: number;
}

export type OperationPlan = { ok: true; target: DirectTarget; amount: number } | { ok: false; detail: string };

const refuse = (detail: string): OperationPlan => ({ ok: false, detail });

/** An attempt Paybox Direct can be asked about: a debit with its transaction number S and call number T. */
function askable(t: PayboxTransaction): t is PayboxTransaction & { callNumber: string; amount: number } {
  return t.operation === 'debit' && /^\d{1,10}$/.test(t.transactionId) && t.callNumber !== null && /^\d{1,10}$/.test(t.callNumber) && t.amount !== null;
}

/** The latest of the order's askable debits in one of these statuses. */
function latestDebit(transactions: readonly PayboxTransaction[], statuses: readonly TransactionStatus[]) {
  return transactions
    .filter(askable)
    .filter((t) => statuses.includes(t.status))
    .reduce<(PayboxTransaction & { callNumber: string; amount: number }) | undefined>((a, t) => (a === undefined || t.lastNotificationId > a.lastNotificationId ? t : a), undefined);
}

const target = (t: PayboxTransaction & { callNumber: string; amount: number }): DirectTarget => ({ transactionId: t.transactionId, callNumber: t.callNumber, amount: t.amount });

/**
 * Checks an operation against the order before anything is sent:
 * - capture: the site captures through Direct (`capture: deferred`) and an attempt is authorised
 *   and not captured; up to its amount;
 * - cancel: an attempt not captured, nothing refunded; always of the whole attempt;
 * - refund: up to what was paid less what was refunded, and less the refunds whose outcome is
 *   not known yet (they may have happened); on a deferred-capture site, only once captured.
 */
export function planOperation(site: PayboxSite, order: OrderState, transactions: readonly PayboxTransaction[], request: OperationRequest, unsettledRefunds: number): OperationPlan {
  const { operation, amount } = request;
  if (operation === 'capture') {
    if (site.capture === 'immediate') return refuse(`site ${site.id} captures at payment (capture: immediate): there is nothing to capture; set capture to deferred when the site sends PBX_AUTOSEULE or PBX_DIFF`);
    const tx = latestDebit(transactions, ['authorised', 'capture_failed']);
    if (tx === undefined) return refuse(`order is ${order.status}: no authorised payment waits for capture`);
    if (amount !== undefined && amount > tx.amount) return refuse(`a capture of ${amount} exceeds the ${tx.amount} authorised`);
    return { ok: true, target: target(tx), amount: amount ?? tx.amount };
  }
  if (operation === 'cancel') {
    const tx = latestDebit(transactions, ['authorised']);
    if (tx === undefined) return refuse(`order is ${order.status}: no payment is left to cancel before capture (refund a captured one)`);
    if (order.refundedAmount > 0) return refuse('part of the order was refunded: refund the rest instead of cancelling');
    if (amount !== undefined && amount !== tx.amount) return refuse(`a cancel is of the whole payment (${tx.amount}), not of ${amount}`);
    return { ok: true, target: target(tx), amount: tx.amount };
  }
  const captured: TransactionStatus[] = site.capture === 'deferred' ? ['captured'] : ['authorised', 'captured'];
  const tx = latestDebit(transactions, captured);
  if (tx === undefined) {
    const waiting = site.capture === 'deferred' && latestDebit(transactions, ['authorised']) !== undefined;
    return refuse(waiting ? 'the payment is authorised, not captured: cancel it instead of refunding' : `order is ${order.status}: no captured payment to refund`);
  }
  const left = order.paidAmount - order.refundedAmount - unsettledRefunds;
  const unsettled = unsettledRefunds > 0 ? `, less ${unsettledRefunds} of refunds whose outcome is not known yet (reconcile the order)` : '';
  if (left <= 0) return refuse(`nothing is left to refund: ${order.paidAmount} paid, ${order.refundedAmount} refunded${unsettled}`);
  if (amount !== undefined && amount > left) return refuse(`a refund of ${amount} exceeds the ${left} left to refund (${order.paidAmount} paid, ${order.refundedAmount} refunded${unsettled})`);
  return { ok: true, target: target(tx), amount: amount ?? left };
}

/** Each inquiry state as the service records it (its status_raw): one spelling, so that dedup keys match. */
const SPELLING: Record<InquiryState, string> = { autorise: 'Autorisé', capture: 'Capturé', annule: 'Annulé', refuse: 'Refusé', rembourse: 'Remboursé' };
/** What an accepted operation leaves its transaction as, in the inquiry's words. */
const STATUS_RAW = { capture: SPELLING.capture, cancel: SPELLING.annule, refund: SPELLING.rembourse } as const;

function base(site: PayboxSite, orderId: string, currency: string | null): Omit<NormalizedNotification, 'transactionId' | 'status' | 'statusRaw' | 'operation' | 'amount'> {
  return {
    provider: 'paybox',
    format: 'direct',
    shopId: site.id,
    mode: site.mode,
    orderId,
    operationRaw: null,
    currency: currency ?? site.currency,
    sequenceNumber: null,
    paymentConfig: null,
    source: 'DIRECT',
    eventTime: null,
    failureIsFinal: false,
  };
}

/**
 * An operation Paybox did, as a notification: a capture or cancel moves its attempt; a refund is
 * a transaction of its own, identified by the operation (Paybox's answer repeats the NUMTRANS
 * asked, so it does not tell two refunds of one payment apart).
 */
export function operationNotification(site: PayboxSite, orderId: string, currency: string | null, operation: DirectWrite, targetTx: DirectTarget, amount: number, operationId: number): NormalizedNotification {
  const common = { ...base(site, orderId, currency), amount, statusRaw: STATUS_RAW[operation] };
  if (operation === 'refund') return { ...common, transactionId: `refund-${operationId}`, status: 'captured', operation: 'refund', paymentOf: targetTx.transactionId };
  return { ...common, transactionId: targetTx.transactionId, status: operation === 'capture' ? 'captured' : 'cancelled', operation: 'debit', callNumber: targetTx.callNumber };
}

export type InquiryReading = { kind: 'apply'; notification: NormalizedNotification; note: string | null } | { kind: 'unchanged'; detail: string };

const KNOWN_AS: Record<string, TransactionStatus> = { autorise: 'authorised', capture: 'captured', annule: 'cancelled', refuse: 'refused' };

/**
 * What an inquiry's STATUS says of one attempt. The same status as known changes nothing; another
 * is a notification, which the transitions judge (a `Refusé` after an authorisation is stale:
 * recorded and flagged, never applied backwards). `Remboursé` says the attempt was refunded but
 * not how much: with no refund known, the whole attempt is taken as refunded (a refund made in
 * the back office); with some known, it tells nothing more.
 */
export function readInquiry(site: PayboxSite, orderId: string, order: OrderState, tx: PayboxTransaction, status: string | null): InquiryReading {
  const state = inquiryState(status);
  if (state === null) return { kind: 'unchanged', detail: `Paybox says ${status ?? 'nothing'} of transaction ${tx.transactionId}: not a status the service applies` };
  const common = base(site, orderId, tx.currency);
  if (state === 'rembourse') {
    if (order.refundedAmount > 0) return { kind: 'unchanged', detail: `Paybox says Remboursé of transaction ${tx.transactionId}; ${order.refundedAmount} refunded is known, and the inquiry does not say how much` };
    if (!isSuccess(tx.status)) return { kind: 'unchanged', detail: `Paybox says Remboursé of transaction ${tx.transactionId}, which the service knows ${tx.statusRaw}: not applied` };
    const notification: NormalizedNotification = { ...common, transactionId: `refund-${tx.transactionId}-inquiry`, status: 'captured', statusRaw: 'Remboursé', operation: 'refund', amount: tx.amount, paymentOf: tx.transactionId };
    return { kind: 'apply', notification, note: 'the inquiry gives no amount: the whole payment is taken as refunded' };
  }
  const normalized = KNOWN_AS[state] as TransactionStatus;
  if (normalized === tx.status) return { kind: 'unchanged', detail: `Paybox says ${SPELLING[state]} of transaction ${tx.transactionId}: as known` };
  const notification: NormalizedNotification = { ...common, transactionId: tx.transactionId, status: normalized, statusRaw: SPELLING[state], operation: 'debit', amount: tx.amount, ...(tx.callNumber === null ? {} : { callNumber: tx.callNumber }) };
  return { kind: 'apply', notification, note: null };
}

/** The attempts an inquiry can be asked about. */
export function askableTransactions(transactions: readonly PayboxTransaction[]): DirectTarget[] {
  return transactions.filter(askable).map(target);
}
