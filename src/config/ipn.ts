import { integer } from '../lib/variables';

/** The notification routes: their deadline, body limit and the budget of rejected calls recorded. */
export const IPN_VARIABLES = {
  deadlineMs: integer('IPN_DEADLINE_MS', 5000, 100, 9000, { description: 'latest reply time; a write not committed by then rolls back and the call is answered `503`' }),
  bodyLimitBytes: integer('IPN_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024, { description: 'largest notification body (Stripe has its own, `STRIPE_BODY_LIMIT_BYTES`)' }),
  rejectedPerSource: integer('IPN_REJECTED_RECORDS_PER_SOURCE', 20, 1, 100_000, {
    description: 'rejected calls (403, 401, 400, 413, 415) recorded per minute from one address; the rest are answered and counted in `ipn_calls_unrecorded_total`, not stored nor logged. A rejected call keeps the first 8 KiB of its body. Raise it if your platform sends many refused calls you want to replay (Paybox never retries)',
  }),
  rejectedPerMinute: integer('IPN_REJECTED_RECORDS_PER_MINUTE', 1000, 1, 1_000_000, { description: 'rejected calls recorded per minute from all addresses' }),
};
