import type { TransactionStatus } from '../../domain/notification';

// Result codes grouped as Monext's current Magento 2 module does (Monext/monext-magento2 `PaylineApi/Constants.php`).
const APPROVED = new Set(['00000', '02400', '02500', '02501', '02517', '02520', '02616', '03000', '04000']);
const WAITING = new Set(['02005', '02306', '02015', '02000', '02533']);
const FRAUD_REVIEW = '04003';
const ABANDONED = new Set(['02304', '02324', '02534']);
const CANCELLED = '02319';
/** Payline refused a duplicate request: nothing happened to the order. */
const DUPLICATE = new Set(['01913', '02001']);

/**
 * The status of a fetched result. Approved is captured when the action was authorisation and
 * capture (101), authorised otherwise; a refusal is told by the short message; a code outside the
 * known groups is recorded and never applied.
 */
export function normalizePaylineResult(code: string, shortMessage: string | null, action: string | null): TransactionStatus {
  if (APPROVED.has(code)) return action === '101' ? 'captured' : 'authorised';
  if (WAITING.has(code) || code === FRAUD_REVIEW || shortMessage === 'ONHOLD_PARTNER') return 'pending';
  if (ABANDONED.has(code)) return 'abandoned';
  if (code === CANCELLED) return 'cancelled';
  if (DUPLICATE.has(code)) return 'unknown';
  if (shortMessage === 'REFUSED' || shortMessage === 'ERROR') return 'refused';
  if (shortMessage === 'CANCELLED') return 'cancelled';
  return 'unknown';
}
