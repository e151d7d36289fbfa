import { randomUUID } from 'node:crypto';
import { sql, type Compilable, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { decideDelivery, type DeliveryDecision, type NotificationOutcome } from '../domain/decide';
import { notificationDedupKey } from '../domain/dedup-key';
import { buildEventPayload, orderAggregateId, orderIdentityOf, type OrderIdentity } from '../domain/events';
import type { NormalizedNotification, OrderStatus } from '../domain/notification';
import { NEW_ORDER, type OrderState, type TransactionState } from '../domain/order-status';
import type { Database, NewDelivery, TransactionRow } from './schema';

/** The request as the HTTP layer saw it; the verdict and reply are filled in by the caller. */
export type DeliveryInput = Omit<NewDelivery, 'verdict' | 'reason' | 'http_status' | 'reply'>;

export interface IngestSummary {
  outcome: NotificationOutcome;
  detail: string;
  orderId: string;
  orderStatus: OrderStatus | null;
  notificationIds: number[];
}

export interface IngestReply {
  httpStatus: number;
  reply: string;
}

export class DeadlineExceededError extends Error {
  constructor() {
    super('reply deadline reached before commit');
  }
}

/** A refund whose payment this service has not recorded yet: nothing is written, the retry will apply it. */
export class OrderNotKnownError extends Error {}

/**
 * Fills in the order of notifications that name only the payment they refund (Stripe refunds),
 * from the transaction of that payment. Read before the write transaction: a payment's order
 * never changes once recorded.
 */
async function withOrderIds(db: Kysely<Database>, notifications: readonly NormalizedNotification[]): Promise<readonly NormalizedNotification[]> {
  const first = notifications[0] as NormalizedNotification;
  if (first.orderId !== '') return notifications;
  const payment = first.paymentOf;
  if (payment === undefined || payment === null) throw new OrderNotKnownError('the notification names neither its order nor its payment');
  const row = await db
    .selectFrom('transactions as t')
    .innerJoin('orders as o', 'o.id', 't.order_ref')
    .select('o.order_id')
    .where('t.provider', '=', first.provider)
    .where('t.shop_id', '=', first.shopId)
    .where('t.mode', '=', first.mode)
    .where('t.transaction_id', '=', payment)
    .executeTakeFirst();
  if (row === undefined) throw new OrderNotKnownError(`the order of payment ${payment} is not known yet`);
  return notifications.map((n) => (n.orderId === '' ? { ...n, orderId: row.order_id } : n));
}

interface Received {
  notification: NormalizedNotification;
  id: number;
  isNew: boolean;
}

/**
 * Record one authentic delivery and everything it decides, in one database transaction:
 * the delivery, its notifications (a unique key decides duplicates, never a prior read), the
 * transactions and order projection, and the outbox rows. If the reply deadline passes before
 * commit, the transaction rolls back: the platform is told 503 and nothing is half-applied.
 */
export async function ingestNotifications(
  db: Kysely<Database>,
  delivery: DeliveryInput,
  notifications: readonly NormalizedNotification[],
  describe: (summary: IngestSummary) => IngestReply,
  signal?: AbortSignal,
): Promise<IngestSummary & IngestReply & { deliveryId: number }> {
  if (notifications[0] === undefined) throw new Error('a delivery carries at least one notification');
  const resolved = await withOrderIds(db, notifications);
  const first = resolved[0] as NormalizedNotification;
  const identity = orderIdentityOf(first);
  // Three statements between BEGIN and COMMIT: each round trip costs more than the SQL in it.
  return db.transaction().execute(async (trx) => {
    throwIfAborted(signal);
    const { received, order } = await insertAndLockOrder(trx, identity, resolved);
    const fresh = received.filter((r) => r.isNew);
    const decision = order === null ? null : await decide(trx, order, fresh);
    const summary = summarize(first.orderId, received, decision);
    const reply = describe(summary);
    throwIfAborted(signal);
    const deliveryId = await writeOutcome(trx, { identity, delivery, summary, reply, received, fresh, order, decision });
    throwIfAborted(signal);
    return { ...summary, ...reply, deliveryId };
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new DeadlineExceededError();
}

interface LockedOrder {
  id: number;
  status: OrderStatus;
  paid_amount: number;
  refunded_amount: number;
  currency: string | null;
  abandoned: boolean;
}

/**
 * One statement: insert the notifications (the unique dedup key decides duplicates, never a prior
 * read) and, if any is new, create or lock the order row. Every notification of one order is then
 * decided one after the other. A duplicate path touches no order.
 */
async function insertAndLockOrder(
  trx: Transaction<Database>,
  identity: OrderIdentity,
  notifications: readonly NormalizedNotification[],
): Promise<{ received: Received[]; order: LockedOrder | null }> {
  const rows = notifications.map((n) => notificationRow(n, notificationDedupKey(n)));
  const result = await trx
    .with('ins', (qb) =>
      qb
        .insertInto('notifications')
        .values(rows)
        .onConflict((oc) => oc.column('dedup_key').doNothing())
        .returning(['id', 'dedup_key']),
    )
    .with('locked', (qb) =>
      qb
        .insertInto('orders')
        .columns(['provider', 'shop_id', 'mode', 'order_id', 'status'])
        .expression((eb) =>
          eb
            .selectFrom('ins')
            .select([
              sql<string>`${identity.provider}::text`.as('provider'),
              sql<string>`${identity.shopId}::text`.as('shop_id'),
              sql<string>`${identity.mode}::text`.as('mode'),
              sql<string>`${identity.orderId}::text`.as('order_id'),
              sql<OrderStatus>`${NEW_ORDER.status}::text`.as('status'),
            ])
            .limit(1),
        )
        .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'order_id']).doUpdateSet({ updated_at: sql<Date>`now()` }))
        .returning(['id', 'status', 'paid_amount', 'refunded_amount', 'currency', 'abandoned']),
    )
    .selectNoFrom([
      sql<{ id: number; dedup_key: string }[] | null>`(SELECT json_agg(json_build_object('id', ins.id, 'dedup_key', ins.dedup_key)) FROM ins)`.as('inserted'),
      sql<LockedOrder | null>`(SELECT row_to_json(locked) FROM locked)`.as('order'),
    ])
    .executeTakeFirstOrThrow();

  const inserted = new Map((result.inserted ?? []).map((r) => [r.dedup_key, Number(r.id)]));
  const missing = rows.map((r) => r.dedup_key).filter((key) => !inserted.has(key));
  // A conflicting row is committed (or ours): ON CONFLICT waited for it. A new statement sees it.
  const existing = new Map(
    missing.length === 0
      ? []
      : (await trx.selectFrom('notifications').select(['id', 'dedup_key']).where('dedup_key', 'in', missing).execute()).map((r) => [r.dedup_key, r.id] as const),
  );
  const claimed = new Set<string>();
  const received = notifications.map((notification, index): Received => {
    const key = (rows[index] as { dedup_key: string }).dedup_key;
    const newId = inserted.get(key);
    if (newId !== undefined && !claimed.has(key)) {
      claimed.add(key);
      return { notification, id: newId, isNew: true };
    }
    return { notification, id: newId ?? (existing.get(key) as number), isNew: false };
  });
  return { received, order: result.order === null ? null : { ...result.order, id: Number(result.order.id) } };
}

function notificationRow(n: NormalizedNotification, dedupKey: string) {
  return {
    dedup_key: dedupKey,
    provider: n.provider,
    format: n.format,
    shop_id: n.shopId,
    mode: n.mode,
    order_id: n.orderId,
    transaction_id: n.transactionId,
    operation: n.operation,
    status: n.status,
    status_raw: n.statusRaw,
    amount: n.amount,
    currency: n.currency,
    sequence_number: n.sequenceNumber,
    payment_config: n.paymentConfig,
    source: n.source,
    event_time: n.eventTime,
    failure_is_final: n.failureIsFinal,
  };
}

/** Reads the order's transactions after the lock (a new statement, so the latest committed), and decides. */
async function decide(trx: Transaction<Database>, order: LockedOrder, fresh: readonly Received[]): Promise<DeliveryDecision> {
  // Named columns, not `*`: the statement is prepared once per connection (store/prepared.ts).
  const transactionRows = await trx.selectFrom('transactions').select(TRANSACTION_STATE_COLUMNS).where('order_ref', '=', order.id).execute();
  return decideDelivery(
    { order: toOrderState(order), transactions: transactionRows.map(toTransactionState) },
    fresh.map((r) => ({ notification: r.notification, id: r.id })),
  );
}

interface Outcome {
  identity: OrderIdentity;
  delivery: DeliveryInput;
  summary: IngestSummary;
  reply: IngestReply;
  received: readonly Received[];
  fresh: readonly Received[];
  order: LockedOrder | null;
  decision: DeliveryDecision | null;
}

/**
 * One statement for every write a decision implies: transactions, notification outcomes, the
 * order projection, the outbox rows, the call and its links. Data-modifying CTEs all run to
 * completion whether or not the final SELECT reads them.
 */
async function writeOutcome(trx: Transaction<Database>, o: Outcome): Promise<number> {
  const parts: RawBuilder<unknown>[] = [];
  const add = (name: string, query: Compilable): void => {
    parts.push(sql`${sql.id(name)} AS (${query})`);
  };
  if (o.decision !== null && o.order !== null) {
    const orderRef = o.order.id;
    const transactions = lastStatePerTransaction(o.decision);
    if (transactions.length > 0) add('tx', upsertTransactions(trx, o.identity, orderRef, transactions));
    o.decision.decisions.forEach((d, index) => {
      const id = (o.fresh[index] as Received).id;
      add(`n${index}`, trx.updateTable('notifications').set({ outcome: d.outcome, outcome_detail: d.detail, order_ref: orderRef }).where('id', '=', id));
    });
    if (!sameOrder(o.decision.previousOrder, o.decision.order)) add('ord', updateOrder(trx, orderRef, o.decision.order));
    const events = outboxRows(o.identity, o.decision, o.fresh);
    if (events.length > 0) add('ev', trx.insertInto('outbox').values(events));
  }
  add(
    'd',
    trx
      .insertInto('deliveries')
      .values({ ...o.delivery, verdict: o.summary.outcome, reason: o.summary.detail, http_status: o.reply.httpStatus, reply: o.reply.reply })
      .returning('id'),
  );
  const links = JSON.stringify(deliveryLinks(o.received, o.decision));
  parts.push(sql`links AS (
    INSERT INTO delivery_notifications (delivery_id, notification_id, outcome)
    SELECT d.id, x.notification_id, x.outcome FROM d CROSS JOIN jsonb_to_recordset(${links}::jsonb) AS x(notification_id bigint, outcome text)
  )`);
  const { rows } = await sql<{ id: number }>`WITH ${sql.join(parts)} SELECT id FROM d`.execute(trx);
  return Number((rows[0] as { id: number }).id);
}

/** Several notifications of one delivery may move one transaction: its last state is what is stored. */
function lastStatePerTransaction(decision: DeliveryDecision): TransactionState[] {
  const last = new Map<string, TransactionState>();
  for (const d of decision.decisions) if (d.transaction !== null) last.set(d.transaction.transactionId, d.transaction);
  return [...last.values()];
}

function upsertTransactions(trx: Transaction<Database>, identity: OrderIdentity, orderRef: number, transactions: readonly TransactionState[]) {
  const rows = transactions.map((tx) => ({
    provider: identity.provider,
    shop_id: identity.shopId,
    mode: identity.mode,
    transaction_id: tx.transactionId,
    order_ref: orderRef,
    operation: tx.operation,
    status: tx.status,
    status_raw: tx.statusRaw,
    amount: tx.amount,
    currency: tx.currency,
    sequence_number: tx.sequenceNumber,
    payment_config: tx.paymentConfig,
    failure_is_final: tx.failureIsFinal,
    last_notification_id: tx.lastNotificationId,
  }));
  return trx
    .insertInto('transactions')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['provider', 'shop_id', 'mode', 'transaction_id']).doUpdateSet((eb) => ({
        operation: eb.ref('excluded.operation'),
        status: eb.ref('excluded.status'),
        status_raw: eb.ref('excluded.status_raw'),
        amount: eb.ref('excluded.amount'),
        currency: eb.ref('excluded.currency'),
        sequence_number: eb.ref('excluded.sequence_number'),
        payment_config: eb.ref('excluded.payment_config'),
        failure_is_final: eb.ref('excluded.failure_is_final'),
        last_notification_id: eb.ref('excluded.last_notification_id'),
        updated_at: sql<Date>`now()`,
      })),
    );
}

function updateOrder(trx: Transaction<Database>, orderRef: number, order: OrderState) {
  return trx
    .updateTable('orders')
    .set({
      status: order.status,
      paid_amount: order.paidAmount,
      refunded_amount: order.refundedAmount,
      currency: order.currency,
      abandoned: order.abandoned,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', orderRef);
}

function outboxRows(identity: OrderIdentity, decision: DeliveryDecision, fresh: readonly Received[]) {
  const now = new Date();
  const lastNotificationId = (fresh[fresh.length - 1] as Received).id;
  return decision.events.map((event) => {
    const id = randomUUID();
    const notificationId = event.transaction?.lastNotificationId ?? lastNotificationId;
    const payload = buildEventPayload(id, event, identity, decision.previousOrder, decision.order, notificationId, now);
    return { id, aggregatetype: 'order', aggregateid: orderAggregateId(identity), type: event.type, payload: JSON.stringify(payload), notification_id: notificationId };
  });
}

/** One link per distinct notification of the delivery, with what this delivery did to it. */
function deliveryLinks(received: readonly Received[], decision: DeliveryDecision | null) {
  const outcomes = new Map<number, string>();
  let freshIndex = 0;
  for (const r of received) {
    const outcome = r.isNew ? (decision?.decisions[freshIndex++]?.outcome ?? 'applied') : 'duplicate';
    if (!outcomes.has(r.id)) outcomes.set(r.id, outcome);
  }
  return [...outcomes].map(([notificationId, outcome]) => ({ notification_id: notificationId, outcome }));
}

function summarize(orderId: string, received: readonly Received[], decision: DeliveryDecision | null): IngestSummary {
  const notificationIds = received.map((r) => r.id);
  if (decision === null) {
    return { outcome: 'duplicate', detail: 'already received', orderId, orderStatus: null, notificationIds };
  }
  // The most telling outcome speaks for the delivery: applied, then stale, then unknown. Of
  // several applied notifications the last speaks, since it says where the order ends up.
  const lastApplied = decision.decisions.filter((d) => d.outcome === 'applied').at(-1);
  const rank: NotificationOutcome[] = ['stale', 'unknown_status', 'duplicate'];
  const chosen = lastApplied ?? rank.map((outcome) => decision.decisions.find((d) => d.outcome === outcome)).find((d) => d !== undefined);
  return {
    outcome: chosen?.outcome ?? 'duplicate',
    detail: chosen?.detail ?? 'already received',
    orderId,
    orderStatus: decision.order.status,
    notificationIds,
  };
}

function sameOrder(a: OrderState, b: OrderState): boolean {
  return a.status === b.status && a.paidAmount === b.paidAmount && a.refundedAmount === b.refundedAmount && a.currency === b.currency && a.abandoned === b.abandoned;
}

function toOrderState(row: LockedOrder): OrderState {
  return {
    status: row.status,
    paidAmount: row.paid_amount,
    refundedAmount: row.refunded_amount,
    currency: row.currency,
    abandoned: row.abandoned,
  };
}

const TRANSACTION_STATE_COLUMNS = [
  'transaction_id',
  'operation',
  'status',
  'status_raw',
  'amount',
  'currency',
  'sequence_number',
  'payment_config',
  'failure_is_final',
  'last_notification_id',
] as const satisfies readonly (keyof TransactionRow)[];

function toTransactionState(row: Pick<TransactionRow, (typeof TRANSACTION_STATE_COLUMNS)[number]>): TransactionState {
  return {
    transactionId: row.transaction_id,
    operation: row.operation,
    status: row.status,
    statusRaw: row.status_raw,
    amount: row.amount,
    currency: row.currency,
    sequenceNumber: row.sequence_number,
    paymentConfig: row.payment_config,
    failureIsFinal: row.failure_is_final,
    lastNotificationId: row.last_notification_id,
  };
}
