import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { decideDelivery, type DeliveryDecision, type NotificationOutcome } from '../domain/decide';
import { notificationDedupKey } from '../domain/dedup-key';
import { buildEventPayload, orderAggregateId, orderIdentityOf, type OrderIdentity } from '../domain/events';
import type { NormalizedNotification, OrderStatus } from '../domain/notification';
import { NEW_ORDER, type OrderState, type TransactionState } from '../domain/order-status';
import type { Database, NewDelivery, OrderRow, TransactionRow } from './schema';

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
  const first = notifications[0];
  if (first === undefined) throw new Error('a delivery carries at least one notification');
  return db.transaction().execute(async (trx) => {
    throwIfAborted(signal);
    const received = await insertNotifications(trx, notifications);
    const fresh = received.filter((r) => r.isNew);
    const decision = fresh.length > 0 ? await applyToOrder(trx, orderIdentityOf(first), fresh) : null;
    const summary = summarize(first.orderId, received, decision);
    const reply = describe(summary);
    const { id: deliveryId } = await trx
      .insertInto('deliveries')
      .values({ ...delivery, verdict: summary.outcome, reason: summary.detail, http_status: reply.httpStatus, reply: reply.reply })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx.insertInto('delivery_notifications').values(deliveryLinks(deliveryId, received, decision)).execute();
    throwIfAborted(signal);
    return { ...summary, ...reply, deliveryId };
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new DeadlineExceededError();
}

async function insertNotifications(trx: Transaction<Database>, notifications: readonly NormalizedNotification[]): Promise<Received[]> {
  const received: Received[] = [];
  for (const n of notifications) {
    const dedupKey = notificationDedupKey(n);
    const inserted = await trx
      .insertInto('notifications')
      .values(notificationRow(n, dedupKey))
      .onConflict((oc) => oc.column('dedup_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted !== undefined) {
      received.push({ notification: n, id: inserted.id, isNew: true });
      continue;
    }
    // The conflicting row is committed (or ours): ON CONFLICT waited for its transaction.
    const existing = await trx.selectFrom('notifications').select('id').where('dedup_key', '=', dedupKey).executeTakeFirstOrThrow();
    received.push({ notification: n, id: existing.id, isNew: false });
  }
  return received;
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

/** Lock the order row (creating it if needed), decide on a consistent snapshot, write the result. */
async function applyToOrder(trx: Transaction<Database>, identity: OrderIdentity, fresh: readonly Received[]): Promise<DeliveryDecision> {
  const orderRow = await lockOrder(trx, identity);
  const transactionRows = await trx.selectFrom('transactions').selectAll().where('order_ref', '=', orderRow.id).execute();
  const decision = decideDelivery(
    { order: toOrderState(orderRow), transactions: transactionRows.map(toTransactionState) },
    fresh.map((r) => ({ notification: r.notification, id: r.id })),
  );

  for (const [index, d] of decision.decisions.entries()) {
    const r = fresh[index] as Received;
    if (d.transaction !== null) await upsertTransaction(trx, identity, orderRow.id, d.transaction);
    await trx
      .updateTable('notifications')
      .set({ outcome: d.outcome, outcome_detail: d.detail, order_ref: orderRow.id })
      .where('id', '=', r.id)
      .execute();
  }
  if (!sameOrder(decision.previousOrder, decision.order)) await updateOrder(trx, orderRow.id, decision.order);
  await insertOutboxEvents(trx, identity, decision, fresh);
  return decision;
}

async function lockOrder(trx: Transaction<Database>, identity: OrderIdentity): Promise<OrderRow> {
  // INSERT … ON CONFLICT DO UPDATE returns the row whether new or existing, and locks it:
  // every notification of one order is decided one after the other.
  return trx
    .insertInto('orders')
    .values({ provider: identity.provider, shop_id: identity.shopId, mode: identity.mode, order_id: identity.orderId, status: NEW_ORDER.status })
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'order_id']).doUpdateSet({ updated_at: new Date() }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

async function upsertTransaction(trx: Transaction<Database>, identity: OrderIdentity, orderRef: number, tx: TransactionState): Promise<void> {
  const values = {
    operation: tx.operation,
    status: tx.status,
    status_raw: tx.statusRaw,
    amount: tx.amount,
    currency: tx.currency,
    sequence_number: tx.sequenceNumber,
    payment_config: tx.paymentConfig,
    failure_is_final: tx.failureIsFinal,
    last_notification_id: tx.lastNotificationId,
  };
  await trx
    .insertInto('transactions')
    .values({ ...values, provider: identity.provider, shop_id: identity.shopId, mode: identity.mode, transaction_id: tx.transactionId, order_ref: orderRef })
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'transaction_id']).doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}

async function updateOrder(trx: Transaction<Database>, orderRef: number, order: OrderState): Promise<void> {
  await trx
    .updateTable('orders')
    .set({
      status: order.status,
      paid_amount: order.paidAmount,
      refunded_amount: order.refundedAmount,
      currency: order.currency,
      abandoned: order.abandoned,
      updated_at: new Date(),
    })
    .where('id', '=', orderRef)
    .execute();
}

async function insertOutboxEvents(trx: Transaction<Database>, identity: OrderIdentity, decision: DeliveryDecision, fresh: readonly Received[]): Promise<void> {
  if (decision.events.length === 0) return;
  const now = new Date();
  const lastNotificationId = (fresh[fresh.length - 1] as Received).id;
  const rows = decision.events.map((event) => {
    const id = randomUUID();
    const notificationId = event.transaction?.lastNotificationId ?? lastNotificationId;
    const payload = buildEventPayload(id, event, identity, decision.previousOrder, decision.order, notificationId, now);
    return { id, aggregatetype: 'order', aggregateid: orderAggregateId(identity), type: event.type, payload: JSON.stringify(payload), notification_id: notificationId };
  });
  await trx.insertInto('outbox').values(rows).execute();
}

/** One link per distinct notification of the delivery, with what this delivery did to it. */
function deliveryLinks(deliveryId: number, received: readonly Received[], decision: DeliveryDecision | null) {
  const outcomes = new Map<number, string>();
  let freshIndex = 0;
  for (const r of received) {
    const outcome = r.isNew ? (decision?.decisions[freshIndex++]?.outcome ?? 'applied') : 'duplicate';
    if (!outcomes.has(r.id)) outcomes.set(r.id, outcome);
  }
  return [...outcomes].map(([notificationId, outcome]) => ({ delivery_id: deliveryId, notification_id: notificationId, outcome }));
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

function toOrderState(row: OrderRow): OrderState {
  return {
    status: row.status,
    paidAmount: row.paid_amount,
    refundedAmount: row.refunded_amount,
    currency: row.currency,
    abandoned: row.abandoned,
  };
}

function toTransactionState(row: TransactionRow): TransactionState {
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
