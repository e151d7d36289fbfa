/** How a queue retries a failed item: the outbox's deliveries and Payline's deferred fetches alike. */
export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before the first retry; doubles with each attempt. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/**
 * Exponential backoff with "equal jitter": between half and all of base·2^(attempt-1), capped.
 * Half is kept so retries never bunch up near zero; the random half spreads workers and items.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 40);
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
