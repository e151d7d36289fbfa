import { isInstallmentConfig, type Operation, type OrderStatus, type TransactionStatus } from './notification';
import { isCancellation, isFailure, isSuccess } from './transitions';

/** What the store keeps of one transaction of an order. */
export interface TransactionState {
  transactionId: string;
  operation: Operation;
  status: TransactionStatus;
  statusRaw: string;
  amount: number | null;
  currency: string | null;
  sequenceNumber: number | null;
  paymentConfig: string | null;
  failureIsFinal: boolean;
  /** Id of the notification that last changed it: orders attempts in time. */
  lastNotificationId: number;
}

export interface OrderState {
  status: OrderStatus;
  paidAmount: number;
  refundedAmount: number;
  currency: string | null;
  /** An order-level ABANDONED (no transaction was ever created) was received. */
  abandoned: boolean;
}

export const NEW_ORDER: OrderState = { status: 'PENDING', paidAmount: 0, refundedAmount: 0, currency: null, abandoned: false };

/**
 * Installments (Lyra MULTI): the first installment decides the order; later ones are recorded
 * and emitted as installment events. The first is the lowest sequence number of the order's
 * installment debits (with soft decline, sequence 1 may never be notified).
 */
export function isLaterInstallment(tx: TransactionState, all: readonly TransactionState[]): boolean {
  if (tx.operation !== 'debit' || !isInstallmentConfig(tx.paymentConfig) || tx.sequenceNumber === null) return false;
  const sequences = all
    .filter((t) => t.operation === 'debit' && isInstallmentConfig(t.paymentConfig) && t.sequenceNumber !== null)
    .map((t) => t.sequenceNumber as number);
  return tx.sequenceNumber > Math.min(...sequences);
}

function sumAmounts(txs: readonly TransactionState[]): number {
  return txs.reduce((total, t) => total + (t.amount ?? 0), 0);
}

function latest(txs: readonly TransactionState[]): TransactionState | undefined {
  return txs.reduce<TransactionState | undefined>((a, t) => (a === undefined || t.lastNotificationId > a.lastNotificationId ? t : a), undefined);
}

/**
 * The order status, derived from all its attempts:
 * - any successful debit makes it PAID (a failed attempt never un-pays an order, and a later
 *   success after failed attempts pays it); refunds up to the paid amount make it REFUNDED;
 * - otherwise a pending debit keeps it PENDING;
 * - otherwise the latest final outcome decides: a cancellation → CANCELLED, a failure → FAILED
 *   (failures of an open payment cycle are not final and leave it PENDING);
 * - an order-level abandon with no transaction → CANCELLED.
 */
export function deriveOrderState(transactions: readonly TransactionState[], abandoned: boolean): OrderState {
  const deciding = transactions.filter((t) => t.operation === 'debit' && !isLaterInstallment(t, transactions));
  const paid = deciding.filter((t) => isSuccess(t.status));
  const refunds = transactions.filter((t) => t.operation === 'refund' && isSuccess(t.status));
  const paidAmount = sumAmounts(paid);
  const refundedAmount = sumAmounts(refunds);
  const currency = deciding[0]?.currency ?? transactions[0]?.currency ?? null;
  const base = { paidAmount, refundedAmount, currency, abandoned };

  if (paid.length > 0) {
    return { ...base, status: refundedAmount >= paidAmount && paidAmount > 0 ? 'REFUNDED' : 'PAID' };
  }
  if (deciding.some((t) => t.status === 'pending')) return { ...base, status: 'PENDING' };
  const last = latest(deciding.filter((t) => isCancellation(t.status) || (isFailure(t.status) && t.failureIsFinal)));
  if (last !== undefined) return { ...base, status: isCancellation(last.status) ? 'CANCELLED' : 'FAILED' };
  if (abandoned && deciding.length === 0) return { ...base, status: 'CANCELLED' };
  return { ...base, status: 'PENDING' };
}
