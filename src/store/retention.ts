import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

export const PURGE_BATCH = 500;

/**
 * Empties the stored bodies of calls older than `days`, `batch` rows per statement so no
 * statement holds locks for long, yielding between batches. Everything else of the call stays:
 * time, source, verdict, reply, and the notifications' normalized fields.
 */
export async function purgeRawBodies(db: Kysely<Database>, days: number, batch = PURGE_BATCH): Promise<number> {
  let purged = 0;
  for (;;) {
    const due = db
      .selectFrom('deliveries')
      .select('id')
      .where('raw_body', 'is not', null)
      .where('received_at', '<', sql<Date>`now() - ${days}::int * interval '1 day'`)
      .orderBy('received_at')
      .limit(batch)
      .forUpdate()
      .skipLocked();
    const result = await db.updateTable('deliveries').set({ raw_body: null, raw_query: null, signature_header: null }).where('id', 'in', due).executeTakeFirst();
    const count = Number(result.numUpdatedRows);
    purged += count;
    if (count < batch) return purged;
    await yieldToOthers();
  }
}
