import { sql, type Kysely } from 'kysely';
import { toPage, type PageRequest } from './audit';
import type { Database } from './schema';

export interface OperatorAction {
  tokenName: string;
  action: string;
  target: string;
  outcome: 'done' | 'refused' | 'failed';
  detail: string | null;
  sourceIp: string | null;
  requestId: string | null;
}

export async function recordOperatorAction(db: Kysely<Database>, a: OperatorAction): Promise<void> {
  await db
    .insertInto('operator_actions')
    .values({ token_name: a.tokenName, action: a.action, target: a.target, outcome: a.outcome, detail: a.detail?.slice(0, 500) ?? null, source_ip: a.sourceIp, request_id: a.requestId })
    .execute();
}

/** Newest first, keyset by id. */
export async function listOperatorActions(db: Kysely<Database>, filter: { tokenName?: string | undefined; action?: string | undefined }, page: PageRequest) {
  let query = db.selectFrom('operator_actions').selectAll().orderBy('id', 'desc').limit(page.limit + 1);
  if (filter.tokenName !== undefined) query = query.where('token_name', '=', filter.tokenName);
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  return toPage(await query.execute(), page.limit, (row) => row.id);
}

/**
 * Empties the stored raw bodies, queries and signature headers of every call that carried a
 * notification of these orders, and marks them erased; the normalized fields (ids, amounts,
 * statuses) stay. Returns how many calls were erased now.
 */
export async function eraseCallsOfOrders(db: Kysely<Database>, orderRefs: readonly number[]): Promise<number> {
  if (orderRefs.length === 0) return 0;
  const result = await db
    .updateTable('deliveries')
    .set({ raw_body: null, raw_query: null, signature_header: null, erased_at: sql<Date>`now()` })
    .where('erased_at', 'is', null)
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('delivery_notifications as dn')
        .innerJoin('notifications as n', 'n.id', 'dn.notification_id')
        .select('dn.delivery_id')
        .where('n.order_ref', 'in', orderRefs),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
