/**
 * The one loop of every background queue (the outbox relay, the deferred Payline fetches, the
 * reconciliation checks): a pass claims what is due (`SKIP LOCKED`), works it and records it, and
 * says how long to sleep before the next; a NOTIFY on the queue's channel, or `wake()`, ends the
 * sleep early, and the sleep is the poll that covers a NOTIFY lost with its connection.
 */

/** Wakes a sleeping loop; a wake while it is busy is kept for its next sleep, never lost. */
export class WakeSignal {
  private pending = false;
  private resolve: (() => void) | null = null;

  wake(): void {
    const resolve = this.resolve;
    this.resolve = null;
    if (resolve) resolve();
    else this.pending = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.resolve = null;
        resolve();
      }, ms);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

export type Unsubscribe = () => Promise<void>;

export interface QueueLoopOptions {
  /** One pass; resolves to the milliseconds to sleep before the next (0: at once). */
  pass: () => Promise<number>;
  /** The sleep after a pass that threw, which `onError` is told of. */
  pollMs: number;
  onError: (error: unknown) => void;
  /** LISTEN on the queue's channel: a NOTIFY wakes the loop. */
  subscribe?: (onNotify: () => void) => Promise<Unsubscribe>;
}

export interface QueueLoop {
  wake(): void;
  /** Ends the loop: the pass in progress finishes, no other starts. */
  stop(): Promise<void>;
}

export async function startQueueLoop(options: QueueLoopOptions): Promise<QueueLoop> {
  const signal = new WakeSignal();
  let stopping = false;
  const unsubscribe = options.subscribe === undefined ? null : await options.subscribe(() => signal.wake());
  const run = async (): Promise<void> => {
    while (!stopping) {
      let sleepMs: number;
      try {
        sleepMs = await options.pass();
      } catch (error) {
        options.onError(error);
        sleepMs = options.pollMs;
      }
      if (stopping) break;
      if (sleepMs > 0) await signal.sleep(sleepMs);
    }
  };
  const loop = run();
  return {
    wake: () => signal.wake(),
    async stop() {
      stopping = true;
      signal.wake();
      await loop;
      await unsubscribe?.();
    },
  };
}
