import { sql, type Kysely, type Selectable } from 'kysely';
import type { OrderIdentity } from '../domain/events';
import type { OrderState, TransactionState } from '../domain/order-status';
import type { Database, DirectOperationsTable } from './schema';
import { isUniqueViolation } from './sqlstate';
import { readStoredState } from './ingest-statements';

export type DirectOperationRow = Selectable<DirectOperationsTable>;

export interface PayboxOrder {
  state: OrderState;
  /** Each with the call number T of the notification that recorded it: Paybox Direct is asked by S and T. */
  transactions: (TransactionState & { callNumber: string | null })[];
}

/**
 * An order as Paybox Direct needs it: its state and transactions (as the ingest reads them), each
 * with the call number T of the notification that recorded it (Paybox Direct is asked by S and
 * T); null when unknown.
 */
export async function readPayboxOrder(db: Kysely<Database>, identity: OrderIdentity): Promise<PayboxOrder | null> {
  const { order } = await readStoredState(db, identity, []);
  if (order === null) return null;
  const calls = await db
    .selectFrom('notifications')
    .select(['transaction_id', 'call_number'])
    .where('order_ref', '=', order.id)
    .where('call_number', 'is not', null)
    .orderBy('id')
    .execute();
  const callOf = new Map<string, string>();
  for (const row of calls) if (row.transaction_id !== null && !callOf.has(row.transaction_id)) callOf.set(row.transaction_id, row.call_number as string);
  return { state: order.state, transactions: order.transactions.map((t) => ({ ...t, callNumber: callOf.get(t.transactionId) ?? null })) };
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
