/**
 * Writes that may complete after their reply. A rejection waits a bounded time for its audit
 * record and then answers anyway, so that a slow database cannot turn a 401 into a 503; the
 * record goes on. Shutdown waits for these before closing the pool, so a deploy drops none of
 * them, and tests wait for them instead of for a time.
 */
export class BackgroundWrites {
  private readonly pending = new Set<Promise<unknown>>();

  /** Keeps `write` until it settles. It must handle its own failure: its outcome is not read. */
  track(write: Promise<unknown>): void {
    this.pending.add(write);
    const forget = () => void this.pending.delete(write);
    write.then(forget, forget);
  }

  /** Resolves once every write tracked so far, and any tracked meanwhile, has settled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
