import { sql, type Kysely, type Selectable } from 'kysely';
import type { OrderIdentity } from '../domain/events';
import type { OrderState, TransactionState } from '../domain/order-status';
import type { Database, DirectOperationsTable } from './schema';
import { isUniqueViolation } from './sqlstate';

export type DirectOperationRow = Selectable<DirectOperationsTable>;

export interface PayboxOrder {
  state: OrderState;
  /** Each with the call number T of the notification that recorded it: Paybox Direct is asked by S and T. */
  transactions: (TransactionState & { callNumber: string | null })[];
}

/**
 * An order as Paybox Direct needs it: its state and transactions, each with the call number T
 * of the notification that recorded it (Paybox Direct is asked by S and T); null when unknown.
 */
export async function readPayboxOrder(db: Kysely<Database>, identity: OrderIdentity): Promise<PayboxOrder | null> {
  const order = await db
    .selectFrom('orders')
    .select(['id', 'status', 'paid_amount', 'refunded_amount', 'currency', 'abandoned'])
    .where('provider', '=', identity.provider)
    .where('shop_id', '=', identity.shopId)
    .where('mode', '=', identity.mode)
    .where('order_id', '=', identity.orderId)
    .executeTakeFirst();
  if (order === undefined) return null;
  const rows = await db
    .selectFrom('transactions as t')
    .select((eb) => [
      't.transaction_id',
      't.operation',
      't.status',
      't.status_raw',
      't.amount',
      't.currency',
      't.sequence_number',
      't.payment_config',
      't.failure_is_final',
      't.last_notification_id',
      eb
        .selectFrom('notifications as n')
        .select('n.call_number')
        .whereRef('n.order_ref', '=', 't.order_ref')
        .whereRef('n.transaction_id', '=', 't.transaction_id')
        .where('n.call_number', 'is not', null)
        .orderBy('n.id')
        .limit(1)
        .as('call_number'),
    ])
    .where('t.order_ref', '=', order.id)
    .orderBy('t.last_notification_id')
    .execute();
  return {
    state: { status: order.status, paidAmount: order.paid_amount, refundedAmount: order.refunded_amount, currency: order.currency, abandoned: order.abandoned },
    transactions: rows.map((t) => ({
      transactionId: t.transaction_id,
      operation: t.operation,
      status: t.status,
      statusRaw: t.status_raw,
      amount: t.amount,
      currency: t.currency,
      sequenceNumber: t.sequence_number,
      paymentConfig: t.payment_config,
      failureIsFinal: t.failure_is_final,
      lastNotificationId: t.last_notification_id,
      callNumber: t.call_number ?? null,
    })),
  };
}

export interface NewOperation {
  identity: OrderIdentity;
  idempotencyKey: string;
  operation: string;
  transactionId: string;
  amount: number;
  tokenName: string;
}

export type Claim = { kind: 'claimed'; row: DirectOperationRow } | { kind: 'existing'; row: DirectOperationRow } | { kind: 'busy'; row: DirectOperationRow | undefined };

/** The operation of an idempotency key, for the site of `identity`. */
export const operationByKey = (db: Kysely<Database>, identity: OrderIdentity, key: string) =>
  db.selectFrom('direct_operations').selectAll().where('provider', '=', identity.provider).where('shop_id', '=', identity.shopId).where('idempotency_key', '=', key).executeTakeFirst();

/**
 * Takes an idempotency key for an operation about to be sent: `claimed` when it is this call's,
 * `existing` when the key was taken before (finished or still out), `busy` when another operation
 * of the order is out. An operation out for longer than `abandonAfterMs` belonged to an instance
 * that stopped before recording Paybox's answer: it becomes `unknown`, for an inquiry to settle.
 */
export async function claimOperation(db: Kysely<Database>, op: NewOperation, abandonAfterMs: number): Promise<Claim> {
  const existing = await operationByKey(db, op.identity, op.idempotencyKey);
  if (existing !== undefined) return { kind: 'existing', row: existing };
  const { identity } = op;
  await db
    .updateTable('direct_operations')
    .set({ result: 'unknown', reason: 'the instance that sent it stopped before recording the answer: an inquiry settles it', finished_at: sql<Date>`now()` })
    .where('provider', '=', identity.provider)
    .where('shop_id', '=', identity.shopId)
    .where('mode', '=', identity.mode)
    .where('order_id', '=', identity.orderId)
    .where('result', 'is', null)
    // Raw SQL: an interval from a parameter has no builder expression.
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${abandonAfterMs / 1000})`)
    .execute();
  try {
    const row = await db
      .insertInto('direct_operations')
      .values({ provider: identity.provider, shop_id: identity.shopId, mode: identity.mode, order_id: identity.orderId, idempotency_key: op.idempotencyKey, operation: op.operation, transaction_id: op.transactionId, amount: op.amount, token_name: op.tokenName, finished_at: null, result: null, code: null, comment: null, answered_by: null, reason: null, delivery_id: null, order_status: null })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { kind: 'claimed', row };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const again = await operationByKey(db, identity, op.idempotencyKey);
    if (again !== undefined) return { kind: 'existing', row: again };
    return { kind: 'busy', row: await inFlight(db, identity) };
  }
}

/** The operations of one order. */
const ofOrder = (db: Kysely<Database>, identity: OrderIdentity) =>
  db.selectFrom('direct_operations').selectAll().where('provider', '=', identity.provider).where('shop_id', '=', identity.shopId).where('mode', '=', identity.mode).where('order_id', '=', identity.orderId);

const inFlight = (db: Kysely<Database>, identity: OrderIdentity) => ofOrder(db, identity).where('result', 'is', null).executeTakeFirst();

export interface OperationResult {
  result: 'accepted' | 'refused' | 'unknown';
  code: string | null;
  comment: string | null;
  answeredBy: string | null;
  reason: string | null;
  deliveryId: number | null;
  orderStatus: string | null;
}

/** An operation claimed and then not sent (the order no longer allows it): its key is free again. */
export async function releaseOperation(db: Kysely<Database>, id: number): Promise<void> {
  await db.deleteFrom('direct_operations').where('id', '=', id).where('result', 'is', null).execute();
}

export async function finishOperation(db: Kysely<Database>, id: number, outcome: OperationResult): Promise<DirectOperationRow> {
  return db
    .updateTable('direct_operations')
    .set({ result: outcome.result, code: outcome.code, comment: outcome.comment, answered_by: outcome.answeredBy, reason: outcome.reason, delivery_id: outcome.deliveryId, order_status: outcome.orderStatus, finished_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function getOperation(db: Kysely<Database>, id: number) {
  return db.selectFrom('direct_operations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The order's operations whose outcome is not known: possibly done, until an inquiry says. */
export function unknownOperations(db: Kysely<Database>, identity: OrderIdentity) {
  return ofOrder(db, identity).where('result', '=', 'unknown').orderBy('id').execute();
}

/** An unknown operation settled by an inquiry: done (`accepted`) or not done (`refused`), with why. */
export async function settleUnknownOperation(db: Kysely<Database>, id: number, outcome: Pick<OperationResult, 'result' | 'reason' | 'deliveryId' | 'orderStatus'>): Promise<void> {
  await db
    .updateTable('direct_operations')
    .set({ result: outcome.result, reason: outcome.reason, delivery_id: outcome.deliveryId, order_status: outcome.orderStatus, finished_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('result', '=', 'unknown')
    .execute();
}
