/**
 * How many rejected calls (from any source, allowed or not) are written to the audit table per
 * window: the first ones of each source, and no more than a global ceiling, so a scanner, a flood
 * or a forger cannot grow the table without bound. The rest are only counted in metrics.
 */
export class RecordBudget {
  private windowStartedAt = 0;
  private total = 0;
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly perSourceLimit = 20,
    private readonly totalLimit = 1000,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether this call may be recorded; counts it either way. */
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
