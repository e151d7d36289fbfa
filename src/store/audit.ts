import { sql, type Kysely } from 'kysely';
import type { TransactionStatus } from '../domain/notification';
import { OUTBOX_CHANNEL } from './outbox';
import type { Database, OutboxState } from './schema';

/** Newest first; `before` is the last id of the previous page (keyset, never OFFSET). */
export interface PageRequest {
  limit: number;
  before: number | undefined;
}

export interface Page<T> {
  rows: T[];
  /** The id to continue before, or null on the last page. */
  next: number | null;
}

export interface TimeRange {
  from?: Date | undefined;
  to?: Date | undefined;
}

export interface NotificationFilter extends TimeRange {
  orderId?: string | undefined;
  transactionId?: string | undefined;
  shopId?: string | undefined;
  provider?: string | undefined;
  status?: TransactionStatus | undefined;
}

export interface DeliveryFilter extends TimeRange {
  provider?: string | undefined;
  verdict?: string | undefined;
  origin?: string | undefined;
}

export interface OutboxFilter {
  state?: OutboxState | undefined;
  aggregateId?: string | undefined;
}

export function toPage<T>(rows: T[], limit: number, idOf: (row: T) => number): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { rows: kept, next: more && last !== undefined ? idOf(last) : null };
}

const NOTIFICATION_COLUMNS = [
  'id',
  'created_at',
  'provider',
  'format',
  'shop_id',
  'mode',
  'order_id',
  'transaction_id',
  'operation',
  'status',
  'status_raw',
  'amount',
  'currency',
  'sequence_number',
  'payment_config',
  'source',
  'event_time',
  'failure_is_final',
  'outcome',
  'outcome_detail',
  'order_ref',
  'call_number',
] as const;

/** The list query of a filter, built apart so tests can EXPLAIN exactly what the API runs. */
export function notificationListQuery(db: Kysely<Database>, filter: NotificationFilter, page: PageRequest) {
  let query = db.selectFrom('notifications').select(NOTIFICATION_COLUMNS);
  if (filter.orderId !== undefined) query = query.where('order_id', '=', filter.orderId);
  if (filter.transactionId !== undefined) query = query.where('transaction_id', '=', filter.transactionId);
  if (filter.shopId !== undefined) query = query.where('shop_id', '=', filter.shopId);
  if (filter.provider !== undefined) query = query.where('provider', '=', filter.provider);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.from !== undefined) query = query.where('created_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('created_at', '<', filter.to);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  return query.orderBy('id', 'desc').limit(page.limit + 1);
}

export async function listNotifications(db: Kysely<Database>, filter: NotificationFilter, page: PageRequest) {
  const rows = await notificationListQuery(db, filter, page).execute();
  return toPage(rows, page.limit, (r) => r.id);
}

export type NotificationRecord = Awaited<ReturnType<typeof listNotifications>>['rows'][number];

export function getNotification(db: Kysely<Database>, id: number) {
  return db.selectFrom('notifications').select(NOTIFICATION_COLUMNS).where('id', '=', id).executeTakeFirst();
}

const DELIVERY_COLUMNS = ['d.id', 'd.received_at', 'd.provider', 'd.origin', 'd.request_id', 'd.source_ip', 'd.content_type', 'd.verdict', 'd.reason', 'd.http_status', 'd.reply', 'd.fetched_from', 'd.erased_at', 'd.raw_length'] as const;

function deliveriesWithKept(db: Kysely<Database>) {
  return db.selectFrom('deliveries as d').select(DELIVERY_COLUMNS).select(sql<boolean>`d.raw_body IS NOT NULL`.as('raw_kept'));
}

export function deliveryListQuery(db: Kysely<Database>, filter: DeliveryFilter, page: PageRequest) {
  let query = deliveriesWithKept(db);
  if (filter.provider !== undefined) query = query.where('d.provider', '=', filter.provider);
  if (filter.verdict !== undefined) query = query.where('d.verdict', '=', filter.verdict);
  if (filter.origin !== undefined) query = query.where('d.origin', '=', filter.origin);
  if (filter.from !== undefined) query = query.where('d.received_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('d.received_at', '<', filter.to);
  if (page.before !== undefined) query = query.where('d.id', '<', page.before);
  return query.orderBy('d.id', 'desc').limit(page.limit + 1);
}

export async function listDeliveries(db: Kysely<Database>, filter: DeliveryFilter, page: PageRequest) {
  const rows = await deliveryListQuery(db, filter, page).execute();
  return toPage(rows, page.limit, (r) => r.id);
}

export type DeliveryRecord = Awaited<ReturnType<typeof listDeliveries>>['rows'][number];

export function getDelivery(db: Kysely<Database>, id: number) {
  return deliveriesWithKept(db).select(['d.raw_body', 'd.raw_query', 'd.signature_header']).where('d.id', '=', id).executeTakeFirst();
}

/** The calls that carried a notification, with what each did to it, oldest first. */
export function deliveriesOfNotification(db: Kysely<Database>, notificationId: number) {
  return deliveriesWithKept(db)
    .innerJoin('delivery_notifications as dn', 'dn.delivery_id', 'd.id')
    .select('dn.outcome')
    .where('dn.notification_id', '=', notificationId)
    .orderBy('d.id')
    .execute();
}

/** Calls whose body is this service's exchange with a platform's API, not a platform's notification: nothing to replay. */
export const EXCHANGE_ORIGINS = ['direct', 'reconcile'] as const;

/** The most recent notification body still kept among the calls that carried a notification. */
export async function latestRawDeliveryOf(db: Kysely<Database>, notificationId: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('deliveries as d')
    .innerJoin('delivery_notifications as dn', 'dn.delivery_id', 'd.id')
    .select('d.id')
    .where('dn.notification_id', '=', notificationId)
    .where('d.raw_body', 'is not', null)
    .where('d.origin', 'not in', EXCHANGE_ORIGINS)
    .orderBy('d.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

export function notificationsOfDelivery(db: Kysely<Database>, deliveryId: number) {
  return db
    .selectFrom('delivery_notifications as dn')
    .innerJoin('notifications as n', 'n.id', 'dn.notification_id')
    .select(['n.id', 'n.order_id', 'n.status_raw', 'dn.outcome'])
    .where('dn.delivery_id', '=', deliveryId)
    .orderBy('n.id')
    .execute();
}

const EVENT_COLUMNS = ['id', 'seq', 'aggregateid', 'type', 'payload', 'created_at', 'notification_id', 'state', 'attempts', 'next_attempt_at', 'last_attempt_at', 'last_error', 'delivered_at'] as const;

export async function listOutbox(db: Kysely<Database>, filter: OutboxFilter, page: PageRequest) {
  let query = db.selectFrom('outbox').select(EVENT_COLUMNS);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.aggregateId !== undefined) query = query.where('aggregateid', '=', filter.aggregateId);
  if (page.before !== undefined) query = query.where('seq', '<', page.before);
  const rows = await query.orderBy('seq', 'desc').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.seq);
}

export type EventRecord = Awaited<ReturnType<typeof listOutbox>>['rows'][number];

export function eventsOfNotification(db: Kysely<Database>, notificationId: number) {
  return db.selectFrom('outbox').select(EVENT_COLUMNS).where('notification_id', '=', notificationId).orderBy('seq').execute();
}

export function eventsOfAggregate(db: Kysely<Database>, aggregateId: string) {
  return db.selectFrom('outbox').select(EVENT_COLUMNS).where('aggregateid', '=', aggregateId).orderBy('seq').execute();
}

export function getEvent(db: Kysely<Database>, id: string) {
  return db.selectFrom('outbox').select(EVENT_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export interface OrderLookup {
  orderId: string;
  shopId?: string | undefined;
  provider?: string | undefined;
}

export function findOrders(db: Kysely<Database>, lookup: OrderLookup) {
  let query = db.selectFrom('orders').selectAll().where('order_id', '=', lookup.orderId);
  if (lookup.shopId !== undefined) query = query.where('shop_id', '=', lookup.shopId);
  if (lookup.provider !== undefined) query = query.where('provider', '=', lookup.provider);
  return query.orderBy('id').limit(50).execute();
}

export function transactionsOfOrder(db: Kysely<Database>, orderRef: number) {
  return db.selectFrom('transactions').selectAll().where('order_ref', '=', orderRef).orderBy('created_at').execute();
}

export function notificationsOfOrder(db: Kysely<Database>, orderRef: number) {
  return db.selectFrom('notifications').select(NOTIFICATION_COLUMNS).where('order_ref', '=', orderRef).orderBy('id').execute();
}

export type RetryResult = { ok: true; event: EventRecord } | { ok: false; reason: 'not_found' | 'not_dead' };

/**
 * A dead event back to pending, attempts reset, due now; relays are woken. Its last error stays
 * until the next attempt replaces it.
 */
export async function retryDeadEvent(db: Kysely<Database>, id: string): Promise<RetryResult> {
  const event = await db
    .updateTable('outbox')
    .set({ state: 'pending', attempts: 0, next_attempt_at: sql<Date>`now()`, claimed_by: null })
    .where('id', '=', id)
    .where('state', '=', 'dead')
    .returning(EVENT_COLUMNS)
    .executeTakeFirst();
  if (event === undefined) return { ok: false, reason: (await getEvent(db, id)) === undefined ? 'not_found' : 'not_dead' };
  await sql`SELECT pg_notify(${OUTBOX_CHANNEL}, '')`.execute(db);
  return { ok: true, event };
}

export interface PaymentMethodFilter {
  provider?: string | undefined;
  shopId?: string | undefined;
  customerId?: string | undefined;
  token?: string | undefined;
}

/** Saved payment methods, newest first. */
export function paymentMethodListQuery(db: Kysely<Database>, filter: PaymentMethodFilter, pageRequest: PageRequest) {
  let query = db.selectFrom('payment_methods').selectAll().orderBy('id', 'desc').limit(pageRequest.limit + 1);
  if (filter.provider !== undefined) query = query.where('provider', '=', filter.provider);
  if (filter.shopId !== undefined) query = query.where('shop_id', '=', filter.shopId);
  if (filter.customerId !== undefined) query = query.where('customer_id', '=', filter.customerId);
  if (filter.token !== undefined) query = query.where('token', '=', filter.token);
  if (pageRequest.before !== undefined) query = query.where('id', '<', pageRequest.before);
  return query;
}

export async function listPaymentMethods(db: Kysely<Database>, filter: PaymentMethodFilter, pageRequest: PageRequest) {
  return toPage(await paymentMethodListQuery(db, filter, pageRequest).execute(), pageRequest.limit, (row) => row.id);
}

export interface SubscriptionLookup {
  subscriptionId: string;
  provider?: string | undefined;
  shopId?: string | undefined;
}

/** The two queries of a subscription's view: its subscriptions, and its installments. */
export function subscriptionQueries(db: Kysely<Database>, lookup: SubscriptionLookup) {
  let subscriptions = db.selectFrom('subscriptions').selectAll().where('subscription_id', '=', lookup.subscriptionId).orderBy('id');
  let installments = db.selectFrom('subscription_payments').selectAll().where('subscription_id', '=', lookup.subscriptionId).orderBy('recurrence_number');
  if (lookup.provider !== undefined) {
    subscriptions = subscriptions.where('provider', '=', lookup.provider);
    installments = installments.where('provider', '=', lookup.provider);
  }
  if (lookup.shopId !== undefined) {
    subscriptions = subscriptions.where('shop_id', '=', lookup.shopId);
    installments = installments.where('shop_id', '=', lookup.shopId);
  }
  return { subscriptions, installments };
}

/** Every subscription of this id (several tokens may share one), and every installment recorded under it. */
export async function findSubscriptions(db: Kysely<Database>, lookup: SubscriptionLookup) {
  const queries = subscriptionQueries(db, lookup);
  const [subscriptions, installments] = await Promise.all([queries.subscriptions.execute(), queries.installments.execute()]);
  return { subscriptions, installments };
}
