import type { StoredOrder, StoredState } from './ingest-statements';

/**
 * Orders kept: the follow-ups of about this many recent orders are decided without a read. Hours
 * of a shop's orders; a few seconds of the benchmark's, whose follow-ups come 256 orders after
 * their first call. The benchmark's peak RSS was 177 MB with no cache, 189 MB with 2,000 orders
 * and 218 MB with 10,000 (the garbage collector lets the heap grow with what lives long, more
 * than the entries' own few MB).
 */
export const ORDER_CACHE_SIZE = 2_000;

/** An entry as kept: its JSON text (see OrderCache). */
interface EntryJson {
  order: StoredOrder | null;
  existing: [string, number][];
}

/**
 * The orders this process wrote or read lately, as it last saw them: what a follow-up on one of
 * them (a capture, the platform's retry, a back-office resend) is first decided on, so that it
 * takes one statement rather than a guess and a second statement.
 *
 * An entry may be stale in any way, and that costs one statement, never a wrong write: the write
 * checks the order's version and that its notifications are still unrecorded (ingest-statements.ts),
 * and else writes nothing and brings the order as it is. What an entry says is recorded stays
 * true: notifications are never deleted. Least recently used entries go first.
 *
 * An entry is kept as one JSON string. A field parsed from a request is a slice that keeps the
 * whole request body alive (V8's sliced strings), and objects kept for minutes are what the
 * garbage collector must trace and compact: one flat string per order costs neither, and parsing
 * it back for a follow-up costs microseconds.
 */
export class OrderCache {
  readonly #entries = new Map<string, string>();

  constructor(private readonly capacity = ORDER_CACHE_SIZE) {}

  get(key: string): StoredState | undefined {
    const text = this.#entries.get(key);
    if (text === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, text);
    return stateOf(text);
  }

  /** The order as a write left it; `existing` is added to the notifications known recorded. */
  remember(key: string, order: StoredOrder | null, existing: ReadonlyMap<string, number>): void {
    const known = this.#entries.get(key);
    const recorded = known === undefined ? existing : new Map([...(stateOf(known).existing), ...existing]);
    this.#entries.delete(key);
    const entry: EntryJson = { order, existing: [...recorded] };
    // The key copied too: a Map keeps the string it was given, slice or not.
    this.#entries.set(Buffer.from(key).toString(), JSON.stringify(entry));
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /**
   * A call that wrote nothing (its notifications were all recorded) saw the order as `seen`: kept
   * when nothing is known of the order, its recorded notifications added when it is the version
   * known. Another version may be older or newer (a concurrent call may have written and kept a
   * later one): not knowing which, the entry goes, and the next call reads.
   */
  sawUnchanged(key: string, seen: StoredState): void {
    const text = this.#entries.get(key);
    if (text === undefined) return this.remember(key, seen.order, seen.existing);
    if (versionOf(stateOf(text).order) === versionOf(seen.order)) return this.remember(key, seen.order, seen.existing);
    this.#entries.delete(key);
  }

  /** After a write whose outcome is not known (a lost connection): the next call reads again. */
  drop(key: string): void {
    this.#entries.delete(key);
  }

  /**
   * Forgets every order. Only for tables emptied under a running process (the tests, between
   * cases): the recorded notifications it knows would be gone.
   */
  forget(): void {
    this.#entries.clear();
  }
}

const versionOf = (order: StoredOrder | null): string | null => (order === null ? null : `${order.id}:${order.version}`);

function stateOf(text: string): StoredState {
  const entry = JSON.parse(text) as EntryJson;
  return { order: entry.order, existing: new Map(entry.existing) };
}
