import fc from 'fast-check';
import { backoffDelayMs, type RetryPolicy } from '../../src/lib/backoff';
import { MAX_RETRY_AFTER_MS, nextStepAfterFailure, parseRetryAfter } from '../../src/outbox/retry-policy';

const POLICY: RetryPolicy = { maxAttempts: 24, backoffBaseMs: 2000, backoffMaxMs: 7_200_000 };

describe('retry policy', () => {
  it('backs off between half and all of base·2^(attempt-1), never past the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const ceiling = Math.min(POLICY.backoffMaxMs, POLICY.backoffBaseMs * 2 ** (attempt - 1));
        const delay = backoffDelayMs(attempt, POLICY, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
    );
  });

  it('retries first within seconds and, by default, for about a day in all', () => {
    expect(backoffDelayMs(1, POLICY, () => 0)).toBe(1000);
    expect(backoffDelayMs(1, POLICY, () => 0.999999)).toBe(2000);
    let total = 0;
    for (let attempt = 1; attempt < POLICY.maxAttempts; attempt++) total += backoffDelayMs(attempt, POLICY, () => 0.5);
    expect(total / 3_600_000).toBeGreaterThan(15);
    expect(total / 3_600_000).toBeLessThan(30);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('99999999', now)).toBe(MAX_RETRY_AFTER_MS);
    for (const unreadable of [null, undefined, '', '-5', '1.5', 'soon', '2026-11-23T10:01:30Z']) expect(parseRetryAfter(unreadable, now)).toBeUndefined();
  });

  it('never throws on any Retry-After value', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const ms = parseRetryAfter(value, Date.now());
        if (ms !== undefined) expect(ms >= 0 && ms <= MAX_RETRY_AFTER_MS).toBe(true);
      }),
    );
  });

  it('gives up at the attempt limit; before it, the server’s Retry-After wins over the backoff', () => {
    expect(nextStepAfterFailure(24, undefined, POLICY)).toEqual({ dead: true });
    expect(nextStepAfterFailure(24, 1000, POLICY)).toEqual({ dead: true });
    expect(nextStepAfterFailure(3, 30_000, POLICY)).toEqual({ dead: false, retryInMs: 30_000 });
    expect(nextStepAfterFailure(3, undefined, POLICY, () => 0)).toEqual({ dead: false, retryInMs: 4000 });
  });
});
