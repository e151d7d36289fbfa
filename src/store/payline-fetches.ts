import { sql, type Kysely } from 'kysely';
import type { DeferredFetch } from '../providers/types';
import type { Database, NewDelivery } from './schema';

/**
 * Records a notification whose result is to be fetched later, in one transaction with its call
 * record: once this commits, the 2xx may go out and nothing can be lost.
 */
export async function recordDeferredFetch(db: Kysely<Database>, delivery: NewDelivery, fetch: DeferredFetch): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const { id } = await trx.insertInto('deliveries').values(delivery).returning('id').executeTakeFirstOrThrow();
    await trx
      .insertInto('payline_fetches')
      .values({ merchant_id: fetch.merchantId, trigger_key: fetch.triggerKey, raw_query: fetch.rawQuery, delivery_id: id })
      .onConflict((oc) => oc.columns(['merchant_id', 'trigger_key']).where('state', '=', 'pending').doNothing())
      .execute();
    return id;
  });
}

export interface ClaimedFetch {
  id: number;
  merchant_id: string;
  raw_query: string;
  attempts: number;
}

/** Claims due fetches without waiting for rows another worker holds; the claim is a lease. */
export async function claimDueFetches(db: Kysely<Database>, limit: number, leaseMs: number): Promise<ClaimedFetch[]> {
  return db
    .updateTable('payline_fetches')
    .set({ attempts: sql<number>`attempts + 1`, next_attempt_at: sql<Date>`now() + ${leaseMs}::int * interval '1 millisecond'` })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('payline_fetches')
        .select('id')
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returning(['id', 'merchant_id', 'raw_query', 'attempts'])
    .execute();
}

export async function markFetchDone(db: Kysely<Database>, id: number): Promise<void> {
  await db.updateTable('payline_fetches').set({ state: 'done', done_at: sql<Date>`now()`, last_error: null }).where('id', '=', id).execute();
}

/** A failed attempt: tried again after `retryInMs`, or dead (its reason kept for support). */
export async function markFetchFailed(db: Kysely<Database>, id: number, error: string, retryInMs: number | null): Promise<void> {
  await db
    .updateTable('payline_fetches')
    .set({
      state: retryInMs === null ? 'dead' : 'pending',
      last_error: error.slice(0, 1000),
      next_attempt_at: sql<Date>`now() + ${retryInMs ?? 0}::int * interval '1 millisecond'`,
    })
    .where('id', '=', id)
    .execute();
}
