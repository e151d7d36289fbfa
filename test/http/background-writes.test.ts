import { BackgroundWrites } from '../../src/http/background-writes';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const isSettled = async (promise: Promise<void>): Promise<boolean> => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('background writes', () => {
  it('settle only once every tracked write has, including those tracked meanwhile', async () => {
    const writes = new BackgroundWrites();
    const first = deferred();
    const second = deferred();
    writes.track(first.promise);
    const settled = writes.settled();
    first.resolve();
    writes.track(second.promise);
    expect(await isSettled(settled)).toBe(false);
    second.resolve();
    expect(await isSettled(settled)).toBe(true);
  });

  it('a failed write counts as settled and is forgotten', async () => {
    const writes = new BackgroundWrites();
    const failing = deferred();
    const handled = failing.promise.catch(() => undefined);
    writes.track(failing.promise);
    failing.reject(new Error('database away'));
    await handled;
    await writes.settled();
    expect(await isSettled(writes.settled())).toBe(true);
  });

  it('with nothing tracked, settled is immediate', async () => {
    expect(await isSettled(new BackgroundWrites().settled())).toBe(true);
  });
});
