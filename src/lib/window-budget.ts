/**
 * How much of something each source may have per window (a minute by default): the first ones of
 * each source, and no more than a global ceiling. It bounds what a flood or a forger can cost:
 * the audit records of rejected calls, the fetches a Payline trigger makes. Past it, the caller
 * is only answered and counted.
 */
export class WindowBudget {
  private windowStartedAt = 0;
  private total = 0;
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly perSourceLimit = 20,
    private readonly totalLimit = 1000,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether this source may have one more in this window; counts it either way. */
  take(source: string): boolean {
    const now = this.now();
    if (now - this.windowStartedAt >= this.windowMs) {
      this.windowStartedAt = now;
      this.total = 0;
      this.perSource.clear();
    }
    const used = this.perSource.get(source) ?? 0;
    if (used >= this.perSourceLimit || this.total >= this.totalLimit) return false;
    this.perSource.set(source, used + 1);
    this.total++;
    return true;
  }
}
