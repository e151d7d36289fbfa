import type { TransactionStatus } from '../../domain/notification';

/**
 * Paybox error codes (`E`) as transaction statuses, from the manual V8.0 and the official
 * Verifone plugins. A code not listed here is recorded as `unknown` and
 * never applied: a new code must not pay, nor fail, an order by guesswork.
 */
const PAID = new Set(['00000', '00200', '00201', '00300', '00301', '00302', '00303']);
const PENDING = new Set(['99999', '00099']);
const REFUSED = new Set(['00001', '00003', '00004', '00006', '00008', '00009', '00010', '00011', '00016', '00021', '00022', '00029', '00031', '00032', '00033', '00040']);
/** `001xx`: refused by the authorisation centre, xx being the bank's code. */
const BANK_REFUSAL = /^001\d\d$/;
/** Payment page timed out: the buyer left. */
const TIMED_OUT = '00030';

/**
 * The status of one attempt. A success counts only with an authorisation number when the site
 * returns one (`A`): the manual's checklist for an assured payment requires it.
 */
export function normalizePayboxError(code: string, authorisation: string | null, returnsAuthorisation: boolean): TransactionStatus {
  if (PAID.has(code)) return returnsAuthorisation && authorisation === null ? 'unknown' : 'authorised';
  if (PENDING.has(code)) return 'pending';
  if (code === TIMED_OUT) return 'abandoned';
  if (REFUSED.has(code) || BANK_REFUSAL.test(code)) return 'refused';
  // 00015 "payment already done" and any code not documented.
  return 'unknown';
}
