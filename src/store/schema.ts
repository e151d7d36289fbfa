import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { Operation, OrderStatus, TransactionStatus } from '../domain/notification';

/** The one declaration of the database: every query in `store/` is checked against it. */
export interface Database {
  deliveries: DeliveriesTable;
  notifications: NotificationsTable;
  delivery_notifications: DeliveryNotificationsTable;
  orders: OrdersTable;
  transactions: TransactionsTable;
  outbox: OutboxTable;
  payline_fetches: PaylineFetchesTable;
  payment_methods: PaymentMethodsTable;
  subscriptions: SubscriptionsTable;
  subscription_payments: SubscriptionPaymentsTable;
  operator_actions: OperatorActionsTable;
  direct_operations: DirectOperationsTable;
  expected_payments: ExpectedPaymentsTable;
  reconcile_checks: ReconcileChecksTable;
  reconcile_cursors: ReconcileCursorsTable;
}

type CreatedAt = ColumnType<Date, never, never>;
type UpdatedAt = ColumnType<Date, never, Date | string>;

/** One HTTP call, rejected ones included. */
export interface DeliveriesTable {
  id: Generated<number>;
  received_at: CreatedAt;
  provider: string;
  /** `http` for a platform call. */
  origin: string;
  request_id: string | null;
  source_ip: string;
  content_type: string | null;
  /** Exact bytes received; not kept for disallowed sources. */
  raw_body: Uint8Array | null;
  /** The URL query string after `?`, exactly as received; null when empty or not kept. */
  raw_query: string | null;
  /** The provider's signature header (Stripe-Signature), exactly as received. */
  signature_header: string | null;
  /** Payline: the endpoint that answered the fetch of the result, after those that failed. */
  fetched_from?: string | null;
  /** Set when only the start of the body was kept (a rejected call): the length it had. */
  raw_length?: number | null;
  /** When an operator erased the call's personal data (its raw body, query and signature). */
  erased_at: ColumnType<Date | null, never, Date | null>;
  verdict: string;
  reason: string | null;
  http_status: number;
  reply: string;
}

/** One logical event, unique by its dedup key. */
export interface NotificationsTable {
  id: Generated<number>;
  created_at: CreatedAt;
  dedup_key: string;
  provider: string;
  format: string;
  shop_id: string;
  mode: string;
  order_id: string;
  transaction_id: string | null;
  operation: string;
  status: string;
  status_raw: string;
  amount: number | null;
  currency: string | null;
  sequence_number: number | null;
  payment_config: string | null;
  source: string | null;
  event_time: ColumnType<Date | null, string | null, never>;
  failure_is_final: boolean;
  /** applied | stale | unknown_status | duplicate, decided in the inserting transaction. */
  outcome: string | null;
  outcome_detail: string | null;
  order_ref: number | null;
  /** Paybox's call number T (NUMAPPEL), asked beside the transaction number S; null elsewhere. */
  call_number: string | null;
}

export interface DeliveryNotificationsTable {
  delivery_id: number;
  notification_id: number;
  /** What this delivery did: the notification's outcome, or `duplicate`. */
  outcome: string;
}

export interface OrdersTable {
  id: Generated<number>;
  provider: string;
  shop_id: string;
  mode: string;
  order_id: string;
  status: OrderStatus;
  paid_amount: Generated<number>;
  refunded_amount: Generated<number>;
  currency: string | null;
  abandoned: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface TransactionsTable {
  provider: string;
  shop_id: string;
  mode: string;
  transaction_id: string;
  order_ref: number;
  operation: Operation;
  status: TransactionStatus;
  status_raw: string;
  amount: number | null;
  currency: string | null;
  sequence_number: number | null;
  payment_config: string | null;
  failure_is_final: boolean;
  last_notification_id: number;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/**
 * Debezium outbox event router columns (`id`, `aggregatetype`, `aggregateid`, `type`,
 * `payload`) plus the relay's own columns: state, attempts and schedule are data, not memory.
 */
export interface OutboxTable {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  payload: ColumnType<unknown, string, never>;
  /** Creation order, for per-aggregate ordering. */
  seq: Generated<number>;
  created_at: CreatedAt;
  notification_id: number | null;
  state: ColumnType<OutboxState, 'pending' | undefined, OutboxState>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  last_error: string | null;
  delivered_at: ColumnType<Date | null, never, Date | null>;
  /** The relay holding the current attempt; `attempts` fences late writes of an expired claim. */
  claimed_by: string | null;
  last_attempt_at: ColumnType<Date | null, never, Date | null>;
}

export type OutboxState = 'pending' | 'delivered' | 'dead';

/** Payline results still to fetch, with their schedule: the durable side of a deferred notification. */
export interface PaylineFetchesTable {
  id: Generated<number>;
  merchant_id: string;
  trigger_key: string;
  raw_query: string;
  delivery_id: number;
  state: ColumnType<'pending' | 'done' | 'dead', 'pending' | undefined, 'pending' | 'done' | 'dead'>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  last_error: string | null;
  created_at: CreatedAt;
  done_at: ColumnType<Date | null, never, Date | null>;
}
interface WalletKey {
  provider: string;
  shop_id: string;
  mode: string;
}

/** A buyer's saved payment method (token), as last reported. */
export interface PaymentMethodsTable extends WalletKey {
  id: Generated<number>;
  token: string;
  customer_id: string | null;
  status_raw: string;
  card_brand: string | null;
  card_last4: string | null;
  card_expiry_month: number | null;
  card_expiry_year: number | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface SubscriptionsTable extends WalletKey {
  id: Generated<number>;
  subscription_id: string;
  token: string;
  customer_id: string | null;
  status_raw: string;
  amount: number | null;
  currency: string | null;
  rule: string | null;
  /** YYYY-MM-DD. */
  effect_date: string | null;
  initial_amount: number | null;
  initial_amount_count: number | null;
  order_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** One installment of a subscription, in its latest status. */
export interface SubscriptionPaymentsTable extends WalletKey {
  subscription_id: string;
  token: string;
  recurrence_number: number;
  transaction_id: string | null;
  status: TransactionStatus;
  status_raw: string;
  amount: number | null;
  currency: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** One operator action through the audit API. */
export interface OperatorActionsTable {
  id: Generated<number>;
  at: CreatedAt;
  token_name: string;
  /** replay, retry, erase… */
  action: string;
  /** What it acted on: `delivery 12`, `event <uuid>`, `order <id>`. */
  target: string;
  /** done, refused (the request was not carried out, and why is in `detail`), failed. */
  outcome: string;
  detail: string | null;
  source_ip: string | null;
  request_id: string | null;
}

export type NewDelivery = Insertable<DeliveriesTable>;
export type OrderRow = Selectable<OrdersTable>;
export type TransactionRow = Selectable<TransactionsTable>;
export type NewOutbox = Insertable<OutboxTable>;

/** A capture, refund or cancel asked of Paybox Direct, by idempotency key. */
export interface DirectOperationsTable {
  id: Generated<number>;
  created_at: CreatedAt;
  finished_at: Date | null;
  provider: string;
  shop_id: string;
  mode: string;
  order_id: string;
  idempotency_key: string;
  operation: string;
  transaction_id: string;
  amount: number;
  /** The operator token's name, never the token. */
  token_name: string;
  /** accepted | refused | unknown; null while the question is out. */
  result: string | null;
  code: string | null;
  comment: string | null;
  answered_by: string | null;
  reason: string | null;
  delivery_id: number | null;
  order_status: string | null;
}

/** A payment the merchant's shop announced (it sent the buyer to pay): looked up if no notification comes. */
export interface ExpectedPaymentsTable {
  id: Generated<number>;
  created_at: CreatedAt;
  provider: string;
  shop_id: string;
  mode: string;
  order_id: string;
  amount: number;
  currency: string;
  expires_at: Date;
}

/** One question to a platform about one order, queued by the sweep or asked for. */
export interface ReconcileChecksTable {
  id: Generated<number>;
  created_at: CreatedAt;
  provider: string;
  shop_id: string;
  mode: string;
  order_id: string;
  /** pending_order | unsettled_transaction | expected_payment | undelivered_event(s) | request */
  why: string;
  /** pending | done | unchecked | dead */
  state: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  claimed_until: Date | null;
  /** changed | unchanged | not_checkable | unavailable */
  outcome: string | null;
  detail: string | null;
  changes: Generated<number>;
  finished_at: Date | null;
}

/** How far a platform's list of undelivered events was read, per endpoint. */
export interface ReconcileCursorsTable {
  provider: string;
  shop_id: string;
  swept_until: Date;
  claimed_until: Date | null;
}
