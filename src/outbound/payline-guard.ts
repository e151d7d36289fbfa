import type { ProviderResult } from '../providers/types';
import type { WindowBudget } from '../lib/window-budget';

/** The reason a trigger refused for its source's budget is answered with. */
export const FETCH_BUDGET_SPENT = 'too many Payline fetches for this address this minute; retry later';

/**
 * A Payline trigger is unsigned: anyone can send one, and each would make the service call
 * Payline with the merchant's credentials. The guard keeps that from becoming an amplifier:
 * - one fetch per trigger at a time: a concurrent copy waits for the fetch under way;
 * - a trigger whose result was final is answered from it (for `ttlMs`), without a new fetch, and
 *   so is one Payline said it does not know;
 * - each source has a budget of fetches per minute; past it the trigger is answered 503 (Payline
 *   repeats a trigger every minute) and counted.
 * Kept in this process's memory (bounded): after a restart a trigger is fetched once more.
 */

export class PaylineFetchGuard {
  private readonly inFlight = new Map<string, Promise<ProviderResult>>();
  private readonly settled = new Map<string, { result: ProviderResult; until: number }>();

  constructor(
    private readonly budget: WindowBudget,
    private readonly onRefused: () => void = () => undefined,
    private readonly ttlMs = 3 * 3_600_000,
    private readonly maxSettled = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The result of `fetch` for this trigger, shared, remembered or refused as above. */
  async run(key: string, source: string | undefined, fetch: () => Promise<ProviderResult>): Promise<ProviderResult> {
    const known = this.settled.get(key);
    if (known !== undefined && known.until > this.now()) return known.result;
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    // Replays and the worker's deferred fetches have no source: an operator or a schedule, not a caller.
    if (source !== undefined && !this.budget.take(source)) {
      this.onRefused();
      return { ok: false, rejection: { verdict: 'unavailable', reason: FETCH_BUDGET_SPENT } };
    }
    const fetched = fetch().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, fetched);
    const result = await fetched;
    if (isSettled(result)) this.remember(key, result);
    return result;
  }

  private remember(key: string, result: ProviderResult): void {
    if (this.settled.size >= this.maxSettled) this.settled.delete(this.settled.keys().next().value as string);
    this.settled.set(key, { result, until: this.now() + this.ttlMs });
  }
}

/** A result that fetching again would not change: final, or a trigger Payline does not know. */
function isSettled(result: ProviderResult): boolean {
  if (!result.ok) return result.rejection.verdict === 'malformed';
  if (result.deferred !== undefined) return false;
  return result.notifications.every((n) => n.status !== 'pending' && n.status !== 'unknown');
}
