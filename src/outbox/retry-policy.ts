export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before the first retry; doubles with each attempt. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** A server asking for more than a day is not honoured beyond a day. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Exponential backoff with "equal jitter": between half and all of base·2^(attempt-1), capped.
 * Half is kept so retries never bunch up near zero; the random half spreads relays and events.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 40);
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** `Retry-After` as milliseconds from now: delay-seconds or an HTTP date; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - nowMs, 0), MAX_RETRY_AFTER_MS);
}

export type NextStep = { dead: true } | { dead: false; retryInMs: number };

/** After failed attempt number `attempt`: give up, or wait as the server asked, or back off. */
export function nextStepAfterFailure(attempt: number, retryAfterMs: number | undefined, policy: RetryPolicy, random?: () => number): NextStep {
  if (attempt >= policy.maxAttempts) return { dead: true };
  return { dead: false, retryInMs: retryAfterMs ?? backoffDelayMs(attempt, policy, random) };
}
