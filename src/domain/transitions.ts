import type { Operation, TransactionStatus } from './notification';

/**
 * Which transaction status may follow which. Built from the Lyra status reference
 * (https://docs.lyra.com/en/collect/form-payment/reference/vads-trans-status.html) and the official plugins' handling:
 * - pending statuses (INITIAL, WAITING_AUTHORISATION, AUTHORISED_TO_VALIDATE, UNDER_VERIFICATION…)
 *   may move to anything, including another pending status;
 * - AUTHORISED may be captured, cancelled by the merchant, expire, or fail at capture;
 *   a later REFUSED for an authorised transaction is stale;
 * - CAPTURE_FAILED may still be captured after support intervention;
 * - CAPTURED, ACCEPTED, REFUSED, EXPIRED, CANCELLED, ABANDONED are final
 *   (a refund is a separate CREDIT transaction, not a transition of the debit).
 * Anything not listed is stale: recorded, answered, not applied.
 */
const NEXT: Readonly<Record<TransactionStatus, readonly TransactionStatus[]>> = {
  pending: ['pending', 'authorised', 'captured', 'accepted', 'refused', 'capture_failed', 'expired', 'cancelled', 'abandoned'],
  authorised: ['captured', 'cancelled', 'expired', 'capture_failed'],
  capture_failed: ['captured', 'cancelled'],
  captured: [],
  accepted: [],
  refused: [],
  expired: [],
  cancelled: [],
  abandoned: [],
  unknown: [],
};

/**
 * A refund that succeeded may still fail afterwards: the card issuer can reject it days later
 * (Stripe sends `refund.failed` with a `failure_balance_transaction` reversing it). The money did
 * not reach the buyer, so the failure is applied and the order counts the refund no more.
 */
const REFUND_NEXT: Partial<Record<TransactionStatus, readonly TransactionStatus[]>> = {
  captured: ['refused'],
};

export function canTransition(from: TransactionStatus, to: TransactionStatus, operation: Operation = 'debit'): boolean {
  return NEXT[from].includes(to) || (operation === 'refund' && (REFUND_NEXT[from]?.includes(to) ?? false));
}

export function isSuccess(status: TransactionStatus): boolean {
  return status === 'authorised' || status === 'captured';
}

export function isFailure(status: TransactionStatus): boolean {
  return status === 'refused' || status === 'expired' || status === 'capture_failed';
}

export function isCancellation(status: TransactionStatus): boolean {
  return status === 'cancelled' || status === 'abandoned';
}
