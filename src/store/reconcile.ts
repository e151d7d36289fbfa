import { sql, type Kysely, type Selectable } from 'kysely';
import type { OrderIdentity } from '../domain/events';
import type { Operation, TransactionStatus } from '../domain/notification';
import type { Database, ReconcileChecksTable } from './schema';
import { toPage, type PageRequest } from './audit';

export type CheckRow = Selectable<ReconcileChecksTable>;

/** Raw SQL: an interval from a parameter has no builder expression. */
const ago = (seconds: number) => sql<Date>`now() - make_interval(secs => ${seconds})`;

export interface ExpectedPayment extends OrderIdentity {
  amount: number;
  currency: string;
  expiresAt: Date;
}

/** Records (or updates, for the same order) a payment the shop expects. */
export function recordExpectedPayment(db: Kysely<Database>, p: ExpectedPayment) {
  return db
    .insertInto('expected_payments')
    .values({ provider: p.provider, shop_id: p.shopId, mode: p.mode, order_id: p.orderId, amount: p.amount, currency: p.currency, expires_at: p.expiresAt })
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'order_id']).doUpdateSet((eb) => ({ amount: eb.ref('excluded.amount'), currency: eb.ref('excluded.currency'), expires_at: eb.ref('excluded.expires_at') })))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface SweepWindow {
  /** Asked about once this old… */
  afterS: number;
  /** … until this old. */
  maxAgeS: number;
  /** Not again within this many seconds of the last check, nor within a quarter of the order's age. */
  againAfterS: number;
}

/**
 * Queues a check of every order left without a final notification in the window (still pending,
 * or whose attempt is authorised, pending or failed at capture and may still change), and of every
 * expected payment whose order has none: one open check per order, and none for an order checked
 * within `againAfterS` or a quarter of its age (an order a day old is asked about every six
 * hours, not every sweep: some twenty questions in a week), and none for an order found not
 * checkable (reported once; `POST /orders/:orderId/reconcile` still asks). Returns how many were
 * queued.
 */
export async function sweep(db: Kysely<Database>, window: SweepWindow): Promise<number> {
  // Raw SQL: the same test for either table, which the builder's types cannot take as a parameter.
  const notCheckedLately = (alias: 'o' | 'e') => sql<boolean>`NOT EXISTS (
    SELECT 1 FROM reconcile_checks c
    WHERE c.provider = ${sql.ref(`${alias}.provider`)} AND c.shop_id = ${sql.ref(`${alias}.shop_id`)} AND c.mode = ${sql.ref(`${alias}.mode`)}
      AND c.order_id = ${sql.ref(`${alias}.order_id`)}
      AND (c.state = 'unchecked' OR c.created_at > now() - greatest(make_interval(secs => ${window.againAfterS}), (now() - ${sql.ref(`${alias}.created_at`)}) / 4)))`;
  const orders = db
    .selectFrom('orders as o')
    .select(['o.provider', 'o.shop_id', 'o.mode', 'o.order_id', sql<string>`'pending_order'`.as('why')])
    .where('o.status', '=', 'PENDING')
    .where('o.updated_at', '<', ago(window.afterS))
    .where('o.created_at', '>', ago(window.maxAgeS))
    .where(notCheckedLately('o'));
  // Literals, as the partial index transactions_unsettled states them, so that it serves.
  const unsettled = db
    .selectFrom('transactions as t')
    .innerJoin('orders as o', 'o.id', 't.order_ref')
    .select(['o.provider', 'o.shop_id', 'o.mode', 'o.order_id', sql<string>`'unsettled_transaction'`.as('why')])
    .where('t.operation', '=', sql.lit<Operation>('debit'))
    .where('t.status', 'in', [sql.lit<TransactionStatus>('pending'), sql.lit<TransactionStatus>('authorised'), sql.lit<TransactionStatus>('capture_failed')])
    .where('t.updated_at', '<', ago(window.afterS))
    .where('t.created_at', '>', ago(window.maxAgeS))
    .where('o.status', '!=', 'PENDING')
    .where(notCheckedLately('o'));
  const expected = db
    .selectFrom('expected_payments as e')
    .select(['e.provider', 'e.shop_id', 'e.mode', 'e.order_id', sql<string>`'expected_payment'`.as('why')])
    .where('e.created_at', '<', ago(window.afterS))
    // Its payment page may be paid until it expires; asked about until RECONCILE_MAX_AGE_S after.
    .where('e.expires_at', '>', ago(window.maxAgeS))
    .where((eb) =>
      eb.not(
        eb.exists(
          eb.selectFrom('orders as o').select('o.id').whereRef('o.provider', '=', 'e.provider').whereRef('o.shop_id', '=', 'e.shop_id').whereRef('o.mode', '=', 'e.mode').whereRef('o.order_id', '=', 'e.order_id'),
        ),
      ),
    )
    .where(notCheckedLately('e'));
  const result = await db
    .insertInto('reconcile_checks')
    .columns(['provider', 'shop_id', 'mode', 'order_id', 'why'])
    .expression(orders.union(unsettled).union(expected))
    // A literal, not a parameter: PostgreSQL matches the partial index by its predicate's text.
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'order_id']).where('state', '=', sql.lit('pending')).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

/** Claims up to `limit` due checks for `leaseMs` (`SKIP LOCKED`: several workers share the queue). */
export function claimDueChecks(db: Kysely<Database>, limit: number, leaseMs: number) {
  return db
    .updateTable('reconcile_checks')
    .set((eb) => ({ claimed_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`, attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('reconcile_checks')
        .select('id')
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', sql<Date>`now()`)
        .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<', sql<Date>`now()`)]))
        .orderBy('next_attempt_at')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}

export interface CheckResult {
  state: 'done' | 'unchecked' | 'dead' | 'pending';
  outcome: string;
  detail: string;
  changes: number;
  /** For a check to try again (`pending`): when. */
  retryInMs?: number;
}

export async function finishCheck(db: Kysely<Database>, id: number, result: CheckResult): Promise<void> {
  const again = result.state === 'pending';
  await db
    .updateTable('reconcile_checks')
    .set({
      state: result.state,
      outcome: result.outcome,
      detail: result.detail,
      changes: result.changes,
      claimed_until: null,
      finished_at: again ? null : sql<Date>`now()`,
      ...(again ? { next_attempt_at: sql<Date>`now() + make_interval(secs => ${(result.retryInMs ?? 0) / 1000})` } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** Milliseconds until the next pending check is due; null when none is. */
export async function msUntilNextCheck(db: Kysely<Database>): Promise<number | null> {
  const row = await db
    .selectFrom('reconcile_checks')
    .select(sql<number | null>`extract(epoch from min(next_attempt_at) - now()) * 1000`.as('ms'))
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return row?.ms === null || row?.ms === undefined ? null : Math.max(0, Number(row.ms));
}

export interface CheckFilter {
  provider?: string | undefined;
  outcome?: string | undefined;
  state?: string | undefined;
}

/** Recent checks, newest first, in keyset pages. */
export async function listChecks(db: Kysely<Database>, filter: CheckFilter, page: PageRequest) {
  let query = db.selectFrom('reconcile_checks').selectAll();
  if (filter.provider !== undefined) query = query.where('provider', '=', filter.provider);
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  const rows = await query.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (row) => row.id);
}

/** Age in seconds of the oldest check not answered yet; 0 when none. */
export async function oldestPendingCheckAgeSeconds(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('reconcile_checks')
    .select(sql<number | null>`extract(epoch from now() - min(created_at))`.as('age'))
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return row?.age === null || row?.age === undefined ? 0 : Number(row.age);
}

/**
 * Claims an endpoint's list of undelivered events for `leaseMs`: where to read from (the end of
 * the last sweep, or `firstFrom` the first time), or null while another worker reads it.
 */
export async function claimCursor(db: Kysely<Database>, provider: string, shopId: string, firstFrom: Date, leaseMs: number): Promise<Date | null> {
  await db.insertInto('reconcile_cursors').values({ provider, shop_id: shopId, swept_until: firstFrom, claimed_until: null }).onConflict((oc) => oc.columns(['provider', 'shop_id']).doNothing()).execute();
  const row = await db
    .updateTable('reconcile_cursors')
    .set({ claimed_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('provider', '=', provider)
    .where('shop_id', '=', shopId)
    .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<', sql<Date>`now()`)]))
    .returning('swept_until')
    .executeTakeFirst();
  return row?.swept_until ?? null;
}

/** Ends a claim; `until` moves the cursor (the list was read up to there), null leaves it. */
export async function releaseCursor(db: Kysely<Database>, provider: string, shopId: string, until: Date | null): Promise<void> {
  await db
    .updateTable('reconcile_cursors')
    .set({ claimed_until: null, ...(until === null ? {} : { swept_until: until }) })
    .where('provider', '=', provider)
    .where('shop_id', '=', shopId)
    .execute();
}

/** A check made outside the queue (an undelivered event read from a platform's list), recorded as done. */
export async function recordFinishedCheck(db: Kysely<Database>, check: OrderIdentity & { why: string; state: 'done' | 'unchecked'; outcome: string; detail: string; changes: number }): Promise<void> {
  await db
    .insertInto('reconcile_checks')
    .values({ provider: check.provider, shop_id: check.shopId, mode: check.mode, order_id: check.orderId, why: check.why, state: check.state, outcome: check.outcome, detail: check.detail, changes: check.changes, attempts: 1, claimed_until: null, finished_at: sql<Date>`now()` })
    .execute();
}

/**
 * The query string of the order's latest platform call that still has one (Payline's trigger
 * carries the token its web services are asked by); null when none is kept (purged, or erased).
 */
export async function latestTriggerOf(db: Kysely<Database>, identity: OrderIdentity): Promise<string | null> {
  const row = await db
    .selectFrom('notifications as n')
    .innerJoin('delivery_notifications as dn', 'dn.notification_id', 'n.id')
    .innerJoin('deliveries as d', 'd.id', 'dn.delivery_id')
    .select('d.raw_query')
    .where('n.provider', '=', identity.provider)
    .where('n.shop_id', '=', identity.shopId)
    .where('n.order_id', '=', identity.orderId)
    .where('n.mode', '=', identity.mode)
    .where('d.raw_query', 'is not', null)
    .where('d.origin', 'in', ['http', 'fetch', 'replay'])
    .orderBy('d.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.raw_query ?? null;
}

/** The ids of an order's transactions. */
export function transactionIdsOf(db: Kysely<Database>, identity: OrderIdentity) {
  return db
    .selectFrom('transactions as t')
    .innerJoin('orders as o', 'o.id', 't.order_ref')
    .select('t.transaction_id as transactionId')
    .where('o.provider', '=', identity.provider)
    .where('o.shop_id', '=', identity.shopId)
    .where('o.mode', '=', identity.mode)
    .where('o.order_id', '=', identity.orderId)
    .execute();
}
