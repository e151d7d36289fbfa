import { startQueueLoop, WakeSignal } from '../../src/lib/queue-loop';

/** Resolves when `count` passes have run; fails the test if they do not within a few seconds. */
function passes(count: number) {
  let seen = 0;
  let done: () => void = () => undefined;
  const reached = new Promise<void>((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`only ${seen} of ${count} passes ran`)), 5000).unref();
  });
  return { tick: () => ++seen >= count && done(), reached, seen: () => seen };
}

describe('the queues loop', () => {
  it('sleeps what a pass says, and a wake ends the sleep', async () => {
    const counter = passes(2);
    const loop = await startQueueLoop({ pass: () => Promise.resolve((counter.tick(), 60_000)), pollMs: 60_000, onError: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(counter.seen()).toBe(1);
    loop.wake();
    await counter.reached;
    await loop.stop();
  });

  it('a NOTIFY on its channel wakes it, and it stops listening when stopped', async () => {
    const counter = passes(2);
    let notify: () => void = () => undefined;
    let unsubscribed = false;
    const loop = await startQueueLoop({
      pass: () => Promise.resolve((counter.tick(), 60_000)),
      pollMs: 60_000,
      onError: () => undefined,
      subscribe: (onNotify) => {
        notify = onNotify;
        return Promise.resolve(() => Promise.resolve(void (unsubscribed = true)));
      },
    });
    notify();
    await counter.reached;
    await loop.stop();
    expect(unsubscribed).toBe(true);
  });

  it('a pass that throws is reported and the loop goes on after pollMs', async () => {
    const counter = passes(3);
    const errors: unknown[] = [];
    const loop = await startQueueLoop({
      pass: () => {
        counter.tick();
        return Promise.reject(new Error('database down'));
      },
      pollMs: 5,
      onError: (error) => errors.push(error),
    });
    await counter.reached;
    await loop.stop();
    expect((errors[0] as Error).message).toBe('database down');
  });

  it('stop lets the pass in progress finish and starts no other', async () => {
    let finish: () => void = () => undefined;
    let runs = 0;
    const loop = await startQueueLoop({
      pass: () => {
        runs++;
        return new Promise<number>((resolve) => (finish = () => resolve(0)));
      },
      pollMs: 5,
      onError: () => undefined,
    });
    const stopped = loop.stop();
    finish();
    await stopped;
    expect(runs).toBe(1);
  });

  it('a wake while busy is kept for the next sleep', async () => {
    const signal = new WakeSignal();
    signal.wake();
    await signal.sleep(60_000);
  });
});
