import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { orderAggregateId, type OrderIdentity } from '../domain/events';
import type { DatabaseHandle } from './database';
import type { OrderStatus } from '../domain/notification';
import type { OrderState, TransactionState } from '../domain/order-status';
import type { Database, NewDelivery, NotificationsTable } from './schema';

/*
 * The three statements of the ingest, as fixed texts: each is parsed and planned once per
 * connection (store/prepared.ts) and built without a query builder on the request path. Every
 * variable part travels as a parameter, lists as jsonb. No `*` in them: a prepared statement must
 * not change its result columns when a later migration adds one.
 */

/** The order as read: its state, its transactions, and a version that any later write changes. */
export interface StoredOrder {
  id: number;
  /** The row's `xmin`: every write of an order row changes it, this service's and any other. */
  version: string;
  state: OrderState;
  transactions: TransactionState[];
}

export interface StoredState {
  order: StoredOrder | null;
  /** Notifications already recorded, by dedup key. */
  existing: Map<string, number>;
}

/** The order of an identity (its four parameters), as JSON: its state, version and transactions; null when not recorded. */
const storedOrderJson = (provider: string, shopId: string, mode: string, orderId: string): string => `
  (SELECT row_to_json(o) FROM (
    SELECT orders.id, orders.xmin::text AS version, orders.status, orders.paid_amount, orders.refunded_amount, orders.currency, orders.abandoned,
      (SELECT coalesce(json_agg(json_build_object(
          'transactionId', t.transaction_id, 'operation', t.operation, 'status', t.status, 'statusRaw', t.status_raw,
          'amount', t.amount, 'currency', t.currency, 'sequenceNumber', t.sequence_number, 'paymentConfig', t.payment_config,
          'failureIsFinal', t.failure_is_final, 'lastNotificationId', t.last_notification_id) ORDER BY t.last_notification_id), '[]'::json)
        FROM transactions t WHERE t.order_ref = orders.id) AS transactions
    FROM orders
    WHERE orders.provider = ${provider}::text AND orders.shop_id = ${shopId}::text AND orders.mode = ${mode}::text AND orders.order_id = ${orderId}::text) o)`;

/** Of the dedup keys (a text[] expression), the notifications recorded already, as JSON. */
const existingJson = (keys: string): string => `
  (SELECT coalesce(json_agg(json_build_object('id', n.id, 'dedupKey', n.dedup_key)), '[]'::json)
    FROM notifications n WHERE n.dedup_key = ANY(${keys}))`;

const READ_STATE = `SELECT ${storedOrderJson('$1', '$2', '$3', '$4')} AS "order", ${existingJson('$5::text[]')} AS existing`;

interface StateRow {
  order: {
    id: number;
    version: string;
    status: OrderStatus;
    paid_amount: number;
    refunded_amount: number;
    currency: string | null;
    abandoned: boolean;
    transactions: TransactionState[];
  } | null;
  existing: { id: number; dedupKey: string }[];
}

/** The order a payment belongs to, by the payment's transaction id; null when that payment is not recorded. */
export async function findOrderOfPayment(db: Kysely<Database>, of: Pick<OrderIdentity, 'provider' | 'shopId' | 'mode'>, transactionId: string): Promise<string | null> {
  const row = await db
    .selectFrom('transactions as t')
    .innerJoin('orders as o', 'o.id', 't.order_ref')
    .select('o.order_id')
    .where('t.provider', '=', of.provider)
    .where('t.shop_id', '=', of.shopId)
    .where('t.mode', '=', of.mode)
    .where('t.transaction_id', '=', transactionId)
    .executeTakeFirst();
  return row?.order_id ?? null;
}

/** One snapshot of the order and of which of the delivery's notifications are already recorded. */
export async function readStoredState(db: Kysely<Database>, identity: OrderIdentity, dedupKeys: readonly string[]): Promise<StoredState> {
  const { rows } = await db.executeQuery<StateRow>(CompiledQuery.raw(READ_STATE, [identity.provider, identity.shopId, identity.mode, identity.orderId, dedupKeys]));
  return stateOf(rows[0] as StateRow);
}

/** JSON columns come parsed from pg's own queries, as text from the batched writes. */
const parsedJson = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

function stateOf(row: { order: StateRow['order'] | string; existing: StateRow['existing'] | string }): StoredState {
  const o = parsedJson(row.order);
  return {
    order:
      o === null
        ? null
        : {
            id: Number(o.id),
            version: o.version,
            state: { status: o.status, paidAmount: o.paid_amount, refundedAmount: o.refunded_amount, currency: o.currency, abandoned: o.abandoned },
            transactions: o.transactions,
          },
    existing: new Map(parsedJson(row.existing).map((e) => [e.dedupKey, Number(e.id)])),
  };
}

const DELIVERY_COLUMNS = 'provider, origin, request_id, source_ip, content_type, raw_body, raw_query, signature_header, fetched_from, verdict, reason, http_status, reply';

/**
 * The call's record and its links; `$1` … `$13` are the delivery, `$14` the links. `from` makes the
 * record depend on another CTE's row (the decided write's order), or is empty.
 */
const deliveryAndLinks = (from: string): string => `
d AS (
  INSERT INTO deliveries (${DELIVERY_COLUMNS})
  SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bytea, $7::text, $8::text, $9::text, $10::text, $11::text, $12::smallint, $13::text
  ${from}
  RETURNING id
), links AS (
  INSERT INTO delivery_notifications (delivery_id, notification_id, outcome)
  SELECT d.id, x.notification_id, x.outcome FROM d CROSS JOIN jsonb_to_recordset($14::jsonb) AS x(notification_id bigint, outcome text)
  RETURNING notification_id
)`;

/** A delivery whose notifications are all recorded already: the call and its links, nothing else. */
const WRITE_DUPLICATE = `
WITH ${deliveryAndLinks('')}
SELECT (SELECT id FROM d) AS delivery_id, NULL::bigint AS order_ref, NULL::text AS version,
  ipn_ingest_check((SELECT count(notification_id) FROM links) >= 0, $15::timestamptz) AS checked`;

/**
 * Everything a decision implies, in one statement: the order (created, or updated only if its
 * version is still the one decided on), the new notifications with their outcomes, the
 * transactions, the outbox rows, the call and its links. Data-modifying CTEs cannot see each
 * other's rows, so the order's id reaches the others through `ord`; the foreign keys are checked
 * at the end of the statement. It returns the order's id and new version.
 *
 * When the decision no longer holds (the order exists although the decision guessed a new one,
 * another write changed it, or one of the notifications decided new is recorded already), `ord`
 * is empty and so is every write joined to it: the statement writes nothing, fails nothing (the
 * other writes of its batch keep their shared commit), and returns the order as it is now with
 * the notifications recorded, to decide again on them without another read. A notification
 * recorded by a call still running (the platform's retry arriving twice at once) is rarer: the
 * final check reads every part, so it runs after all of them, and rolls the statement back (40001).
 */
const WRITE_DECIDED = `
WITH recorded AS (
  -- An array, not IN (subquery): the generic plan of a semi-join may scan the whole table.
  SELECT 1 FROM notifications WHERE dedup_key = ANY(ARRAY(SELECT x->>'dedup_key' FROM jsonb_array_elements($27::jsonb) AS x))
), created AS (
  INSERT INTO orders (provider, shop_id, mode, order_id, status, paid_amount, refunded_amount, currency, abandoned)
  SELECT $16::text, $17::text, $18::text, $19::text, $22::text, $23::bigint, $24::bigint, $25::text, $26::boolean
  WHERE $20::bigint IS NULL AND NOT EXISTS (SELECT 1 FROM recorded)
  ON CONFLICT (provider, shop_id, mode, order_id) DO NOTHING
  RETURNING id, xmin::text AS version
), updated AS (
  UPDATE orders SET status = $22::text, paid_amount = $23::bigint, refunded_amount = $24::bigint, currency = $25::text, abandoned = $26::boolean, updated_at = now()
  WHERE id = $20::bigint AND xmin::text = $21::text AND NOT EXISTS (SELECT 1 FROM recorded)
  RETURNING id, xmin::text AS version
), ord AS (
  SELECT id, version FROM created UNION ALL SELECT id, version FROM updated
), ${deliveryAndLinks('FROM ord')}, n AS (
  INSERT INTO notifications (id, dedup_key, provider, format, shop_id, mode, order_id, transaction_id, operation, status, status_raw, amount, currency,
    sequence_number, payment_config, source, event_time, failure_is_final, outcome, outcome_detail, call_number, order_ref)
  OVERRIDING SYSTEM VALUE
  SELECT x.id, x.dedup_key, x.provider, x.format, x.shop_id, x.mode, x.order_id, x.transaction_id, x.operation, x.status, x.status_raw, x.amount, x.currency,
    x.sequence_number, x.payment_config, x.source, x.event_time, x.failure_is_final, x.outcome, x.outcome_detail, x.call_number, ord.id
  FROM jsonb_to_recordset($27::jsonb) AS x(id bigint, dedup_key text, provider text, format text, shop_id text, mode text, order_id text, transaction_id text,
    operation text, status text, status_raw text, amount bigint, currency text, sequence_number integer, payment_config text, source text,
    event_time timestamptz, failure_is_final boolean, outcome text, outcome_detail text, call_number text)
  CROSS JOIN ord
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING id
), tx AS (
  INSERT INTO transactions (provider, shop_id, mode, transaction_id, order_ref, operation, status, status_raw, amount, currency, sequence_number,
    payment_config, failure_is_final, last_notification_id)
  SELECT $16::text, $17::text, $18::text, x.transaction_id, ord.id, x.operation, x.status, x.status_raw, x.amount, x.currency, x.sequence_number,
    x.payment_config, x.failure_is_final, x.last_notification_id
  FROM jsonb_to_recordset($28::jsonb) AS x(transaction_id text, operation text, status text, status_raw text, amount bigint, currency text,
    sequence_number integer, payment_config text, failure_is_final boolean, last_notification_id bigint)
  CROSS JOIN ord
  ON CONFLICT (provider, shop_id, mode, transaction_id) DO UPDATE SET
    operation = excluded.operation, status = excluded.status, status_raw = excluded.status_raw, amount = excluded.amount,
    currency = excluded.currency, sequence_number = excluded.sequence_number, payment_config = excluded.payment_config,
    failure_is_final = excluded.failure_is_final, last_notification_id = excluded.last_notification_id, updated_at = now()
  RETURNING transaction_id
), ev AS (
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, notification_id)
  SELECT x.id, x.aggregatetype, x.aggregateid, x.type, x.payload, x.notification_id
  FROM jsonb_to_recordset($29::jsonb) AS x(id uuid, aggregatetype text, aggregateid text, type text, payload jsonb, notification_id bigint)
  CROSS JOIN ord
  RETURNING id
), moved AS (
  SELECT NOT EXISTS (SELECT 1 FROM ord) AS moved
)
SELECT (SELECT id FROM d) AS delivery_id,
  (SELECT id FROM ord) AS order_ref,
  (SELECT version FROM ord) AS version,
  ipn_ingest_check(
    (SELECT moved FROM moved)
      OR ((SELECT count(id) FROM n) = jsonb_array_length($27::jsonb)
        AND (SELECT count(transaction_id) FROM tx) >= 0
        AND (SELECT count(id) FROM ev) >= 0
        AND (SELECT count(notification_id) FROM links) >= 0),
    $15::timestamptz) AS checked,
  CASE WHEN (SELECT moved FROM moved) THEN ${storedOrderJson('$16', '$17', '$18', '$19')} END AS "order",
  CASE WHEN (SELECT moved FROM moved) THEN ${existingJson(`ARRAY(SELECT x->>'dedup_key' FROM jsonb_array_elements($27::jsonb) AS x)`)} END AS existing`;

export type DeliveryRecord = Omit<NewDelivery, 'id' | 'received_at'>;

/** A new notification's row, with its outcome, as the write inserts it (its order's id comes from the write). */
export type NotificationRecord = Omit<Selectable<NotificationsTable>, 'created_at' | 'order_ref' | 'event_time' | 'outcome' | 'outcome_detail'> & {
  /** ISO 8601, as the notification carries it. */
  event_time: string | null;
  outcome: string;
  outcome_detail: string;
};

export interface OutboxRecord {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  payload: object;
  notification_id: number;
}

export interface LinkRecord {
  notification_id: number;
  outcome: string;
}

export interface DecidedWrite {
  identity: OrderIdentity;
  /** The order as read, or null to create it (it must not exist by then). */
  expected: { id: number; version: string } | null;
  order: OrderState;
  notifications: readonly NotificationRecord[];
  transactions: readonly TransactionState[];
  events: readonly OutboxRecord[];
}

function deliveryParameters(delivery: DeliveryRecord, links: readonly LinkRecord[], commitBy: Date | null): unknown[] {
  const d = delivery;
  return [
    d.provider, d.origin ?? 'http', d.request_id ?? null, d.source_ip, d.content_type ?? null, d.raw_body ?? null, d.raw_query ?? null,
    d.signature_header ?? null, d.fetched_from ?? null, d.verdict, d.reason ?? null, d.http_status, d.reply,
    JSON.stringify(links), commitBy?.toISOString() ?? null,
  ];
}

/**
 * What a write did: recorded the call (and with it what was decided), or, for a decided write
 * whose decision no longer held, nothing; then `now` is the order as the write found it, with which of
 * the new notifications are recorded already, to decide again on.
 */
export type WriteOutcome =
  | { deliveryId: number; written: { id: number; version: string } | null; now?: undefined }
  | { deliveryId?: undefined; now: StoredState };

/** The statements' result columns (text fields from the batched writes). */
const RESULT_COLUMNS = ['delivery_id', 'order_ref', 'version', 'checked', 'order', 'existing'] as const;
type ResultRow = {
  delivery_id: number | string | null;
  order_ref: number | string | null;
  version: string | null;
  order: StateRow['order'] | string | null;
  existing: StateRow['existing'] | string | null;
};

/**
 * Writes a call; with `decided`, everything its new notifications decide (and then the order's
 * id and new version), or nothing when the decision no longer holds (see WRITE_DECIDED). Throws
 * with SQLSTATE 40001 when one of its notifications was being recorded by a call still running
 * (decide again on a fresh read), IR503 past `commitBy`.
 */
export async function writeDelivery(
  { db, writeBatcher: batcher }: Pick<DatabaseHandle, 'db' | 'writeBatcher'>,
  delivery: DeliveryRecord,
  links: readonly LinkRecord[],
  decided: DecidedWrite | null,
  commitBy: Date | null,
): Promise<WriteOutcome> {
  const head = deliveryParameters(delivery, links, commitBy);
  const query =
    decided === null
      ? CompiledQuery.raw(WRITE_DUPLICATE, head)
      : CompiledQuery.raw(WRITE_DECIDED, [
          ...head,
          decided.identity.provider, decided.identity.shopId, decided.identity.mode, decided.identity.orderId,
          decided.expected?.id ?? null, decided.expected?.version ?? null,
          decided.order.status, decided.order.paidAmount, decided.order.refundedAmount, decided.order.currency, decided.order.abandoned,
          JSON.stringify(decided.notifications), JSON.stringify(decided.transactions.map(transactionRecord)), JSON.stringify(decided.events),
        ]);
  let row: ResultRow;
  if (batcher !== undefined) {
    // Writes of one batch take their locks in order of order identity (batched-writes.ts).
    const fields = await batcher.write(query.sql, query.parameters, decided === null ? '' : orderAggregateId(decided.identity), commitBy);
    row = Object.fromEntries(RESULT_COLUMNS.map((column, i) => [column, fields[i] ?? null])) as ResultRow;
  } else {
    row = (await db.executeQuery<ResultRow>(query)).rows[0] as ResultRow;
  }
  if (row.delivery_id !== null) {
    const written = row.order_ref === null || row.version === null ? null : { id: Number(row.order_ref), version: row.version };
    return { deliveryId: Number(row.delivery_id), written };
  }
  return { now: stateOf({ order: row.order, existing: row.existing ?? [] }) };
}

function transactionRecord(tx: TransactionState) {
  return {
    transaction_id: tx.transactionId,
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
}
