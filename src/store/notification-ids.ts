import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** Ids taken from the sequence per round trip: one round trip per this many notifications. */
const BLOCK_SIZE = 128;

/**
 * Notification ids drawn from the table's own sequence ahead of the write, a block at a time.
 * The ingest decides in TypeScript before it writes (the ids go into the transactions, the events
 * and the call's links), and its write is a single statement: knowing the ids first is what
 * spares it a round trip per notification. Ids are unique as ever; an id drawn but not used (a
 * duplicate after all, a write that rolled back, a stopped process) is a gap, as a rolled-back
 * insert leaves one. Across several instances ids are no longer in order of arrival: order by
 * `created_at` for that. Restarting the sequence under a running process would hand out drawn
 * ids twice: no deployment does that, and the tests forget their drawn ids when they do.
 */
export class NotificationIds {
  #free: number[] = [];
  #refill: Promise<void> | null = null;
  /** Bumped by `forget`: a refill under way when the ids were forgotten keeps none of its ids. */
  #generation = 0;

  constructor(private readonly db: Kysely<Database>) {}

  async take(count: number): Promise<number[]> {
    while (this.#free.length < count) await this.#fill(Math.max(BLOCK_SIZE, count));
    return this.#free.splice(0, count);
  }

  /**
   * Forgets the ids drawn. Only for a sequence restarted under a running process
   * (`TRUNCATE … RESTART IDENTITY`, as the tests do between cases): the sequence would hand out
   * the drawn ids again.
   */
  forget(): void {
    this.#free = [];
    this.#generation++;
  }

  #fill(size: number): Promise<void> {
    // Concurrent callers share one refill rather than each drawing a block.
    this.#refill ??= (async () => {
      const generation = this.#generation;
      try {
        const { rows } = await sql<{ id: number }>`SELECT nextval(pg_get_serial_sequence('notifications', 'id')) AS id FROM generate_series(1, ${size}::int)`.execute(this.db);
        if (generation === this.#generation) this.#free.push(...rows.map((r) => Number(r.id)));
      } finally {
        this.#refill = null;
      }
    })();
    return this.#refill;
  }
}
