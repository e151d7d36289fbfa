import type { Kysely } from 'kysely';
import type { Database, NewDelivery } from './schema';

/** A rejected call, recorded on its own: nothing else is written for it. */
export async function recordRejectedDelivery(db: Kysely<Database>, delivery: NewDelivery): Promise<number> {
  const row = await db.insertInto('deliveries').values(delivery).returning('id').executeTakeFirstOrThrow();
  return row.id;
}
