import type { Kysely } from 'kysely';
import type { Database, NewDelivery } from './schema';

/** The call as it came (the route, a replay, a deferred fetch); the verdict and reply are filled in once decided. */
export type DeliveryInput = Omit<NewDelivery, 'verdict' | 'reason' | 'http_status' | 'reply'>;

/** A rejected call, recorded on its own: nothing else is written for it. */
export async function recordRejectedDelivery(db: Kysely<Database>, delivery: NewDelivery): Promise<number> {
  const row = await db.insertInto('deliveries').values(delivery).returning('id').executeTakeFirstOrThrow();
  return row.id;
}
