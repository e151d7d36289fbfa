/**
 * Waits until an asynchronous condition holds. For effects the service completes after its
 * reply, such as the audit record of a rejection, which answers after at most 250 ms whether the
 * record is written or not: a loaded machine can take longer than that.
 */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
