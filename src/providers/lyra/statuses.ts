import type { Operation, TransactionStatus } from '../../domain/notification';

/**
 * `vads_trans_status` / REST `detailedStatus` → normalized status (https://docs.lyra.com/en/collect/form-payment/reference/vads-trans-status.html).
 * Statuses awaiting an authorisation, a validation or a third party are pending; PRE_AUTHORISED
 * is a hold that is never captured, so it does not pay an order.
 */
const STATUSES: Readonly<Record<string, TransactionStatus>> = {
  AUTHORISED: 'authorised',
  PARTIALLY_AUTHORISED: 'authorised',
  CAPTURED: 'captured',
  ACCEPTED: 'accepted',
  PRE_AUTHORISED: 'pending',
  AUTHORISED_TO_VALIDATE: 'pending',
  WAITING_AUTHORISATION: 'pending',
  WAITING_AUTHORISATION_TO_VALIDATE: 'pending',
  UNDER_VERIFICATION: 'pending',
  INITIAL: 'pending',
  WAITING_FOR_PAYMENT: 'pending',
  SUSPENDED: 'pending',
  PENDING: 'pending',
  CAPTURE_PENDING: 'pending',
  REFUND_TO_RETRY: 'pending',
  REFUSED: 'refused',
  CAPTURE_FAILED: 'capture_failed',
  EXPIRED: 'expired',
  CANCELLED: 'cancelled',
  ABANDONED: 'abandoned',
  NOT_CREATED: 'abandoned',
};

export function normalizeLyraStatus(raw: string): TransactionStatus {
  return Object.hasOwn(STATUSES, raw) ? (STATUSES[raw] as TransactionStatus) : 'unknown';
}

/** Statuses that may come without a transaction (the buyer left before one was created). */
export function isOrderLevelStatus(status: TransactionStatus): boolean {
  return status === 'abandoned' || status === 'cancelled';
}

/** Absent on cancelled and abandoned payments (research §3.3): those are debits. */
export function normalizeLyraOperation(raw: string | null): Operation {
  switch (raw) {
    case null:
    case 'DEBIT':
      return 'debit';
    case 'CREDIT':
      return 'refund';
    case 'VERIFICATION':
      return 'verification';
    default:
      return 'unknown';
  }
}
