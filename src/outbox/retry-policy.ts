import { backoffDelayMs, type RetryPolicy } from '../lib/backoff';

/** A server asking for more than a day is not honoured beyond a day. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

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
