/**
 * The value of `work`, or `fallback()` if it has not settled within `ms`. The work is not
 * cancelled: it goes on in the background (to record an audit row, say) after the caller moved on.
 */
export async function within<T>(work: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
