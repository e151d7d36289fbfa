import { orderAggregateId } from '../domain/events';
import type { DeliveryRecord, EventRecord, NotificationRecord } from '../store/audit';
import type { Selectable } from 'kysely';
import type { OperatorActionsTable, OrderRow, PaymentMethodsTable, SubscriptionPaymentsTable, SubscriptionsTable, TransactionRow } from '../store/schema';
import { maskRawBody, maskStoredBody } from './mask';

// Database rows to API JSON: camelCase, and nothing that is not meant to be shown.

export const presentNotification = (n: NotificationRecord) => ({
  id: n.id,
  createdAt: n.created_at,
  provider: n.provider,
  format: n.format,
  shopId: n.shop_id,
  mode: n.mode,
  orderId: n.order_id,
  transactionId: n.transaction_id,
  operation: n.operation,
  status: n.status,
  statusRaw: n.status_raw,
  amount: n.amount,
  currency: n.currency,
  sequenceNumber: n.sequence_number,
  paymentConfig: n.payment_config,
  source: n.source,
  eventTime: n.event_time,
  outcome: n.outcome,
  outcomeDetail: n.outcome_detail,
  /** Paybox's call number T: with the transaction number, what Paybox Direct is asked by. */
  callNumber: n.call_number,
});

export const presentDelivery = (d: DeliveryRecord) => ({
  id: d.id,
  receivedAt: d.received_at,
  provider: d.provider,
  origin: d.origin,
  requestId: d.request_id,
  sourceIp: d.source_ip,
  contentType: d.content_type,
  verdict: d.verdict,
  reason: d.reason,
  httpStatus: d.http_status,
  reply: d.reply,
  fetchedFrom: d.fetched_from ?? null,
  rawBodyKept: d.raw_kept,
  erasedAt: d.erased_at,
  /** The body's full length when only its start was kept (a rejected call). */
  rawLength: d.raw_length ?? null,
});

/**
 * The stored call as masked fields, or null once purged. A call that carried its variables in the
 * URL (Paybox by GET) shows those; URL parameters beside a body are shown apart.
 */
export function presentRaw(rawBody: Uint8Array | null, rawQuery: string | null, contentType: string | null = null) {
  if (rawBody === null) return null;
  const query = rawQuery === null || rawQuery === '' ? null : Buffer.from(rawQuery, 'latin1');
  if (rawBody.length === 0 && query !== null) return maskRawBody(query);
  const body = maskStoredBody(rawBody, contentType);
  return query === null ? body : { ...body, query: maskRawBody(query) };
}

export const presentEvent = (e: EventRecord) => ({
  id: e.id,
  seq: e.seq,
  aggregateId: e.aggregateid,
  type: e.type,
  state: e.state,
  attempts: e.attempts,
  nextAttemptAt: e.state === 'pending' ? e.next_attempt_at : null,
  lastAttemptAt: e.last_attempt_at,
  lastError: e.last_error,
  createdAt: e.created_at,
  deliveredAt: e.delivered_at,
  notificationId: e.notification_id,
  payload: e.payload,
});

const historyEntry = (n: NotificationRecord) => ({
  notificationId: n.id,
  at: n.created_at,
  status: n.status,
  statusRaw: n.status_raw,
  amount: n.amount,
  source: n.source,
  outcome: n.outcome,
  outcomeDetail: n.outcome_detail,
});

export function presentOrder(order: OrderRow, transactions: TransactionRow[], notifications: NotificationRecord[], events: EventRecord[]) {
  return {
    provider: order.provider,
    shopId: order.shop_id,
    mode: order.mode,
    orderId: order.order_id,
    aggregateId: orderAggregateId({ provider: order.provider, shopId: order.shop_id, mode: order.mode, orderId: order.order_id }),
    status: order.status,
    paidAmount: order.paid_amount,
    refundedAmount: order.refunded_amount,
    currency: order.currency,
    abandoned: order.abandoned,
    createdAt: order.created_at,
    updatedAt: order.updated_at,
    transactions: transactions.map((t) => ({
      transactionId: t.transaction_id,
      operation: t.operation,
      status: t.status,
      statusRaw: t.status_raw,
      amount: t.amount,
      currency: t.currency,
      sequenceNumber: t.sequence_number,
      paymentConfig: t.payment_config,
      // Paybox: the call number T of its IPN, which Paybox Direct is asked by with the transaction number.
      callNumber: notifications.find((n) => n.transaction_id === t.transaction_id && n.call_number !== null)?.call_number ?? null,
      createdAt: t.created_at,
      updatedAt: t.updated_at,
      history: notifications.filter((n) => n.transaction_id === t.transaction_id).map(historyEntry),
    })),
    orderNotifications: notifications.filter((n) => n.transaction_id === null).map(historyEntry),
    events: events.map(presentEvent),
  };
}

export const presentPaymentMethod = (p: Selectable<PaymentMethodsTable>) => ({
  id: p.id,
  provider: p.provider,
  shopId: p.shop_id,
  mode: p.mode,
  token: p.token,
  customerId: p.customer_id,
  status: p.status_raw,
  card: { brand: p.card_brand, last4: p.card_last4, expiryMonth: p.card_expiry_month, expiryYear: p.card_expiry_year },
  createdAt: p.created_at,
  updatedAt: p.updated_at,
});

type SubscriptionFields = Omit<Selectable<SubscriptionsTable>, 'id' | 'status_raw' | 'updated_at'> & { status_raw: string | null };

export const presentSubscription = (s: SubscriptionFields) => ({
  provider: s.provider,
  shopId: s.shop_id,
  mode: s.mode,
  subscriptionId: s.subscription_id,
  token: s.token === '' ? null : s.token,
  customerId: s.customer_id,
  /** Null when only installments are known. */
  status: s.status_raw,
  amount: s.amount,
  currency: s.currency,
  rule: s.rule,
  effectDate: s.effect_date,
  initialAmount: s.initial_amount,
  initialAmountCount: s.initial_amount_count,
  orderId: s.order_id,
  createdAt: s.created_at,
  installments: [] as ReturnType<typeof presentInstallment>[],
});

export const presentInstallment = (i: Selectable<SubscriptionPaymentsTable>) => ({
  number: i.recurrence_number,
  transactionId: i.transaction_id,
  status: i.status,
  statusRaw: i.status_raw,
  amount: i.amount,
  currency: i.currency,
  createdAt: i.created_at,
  updatedAt: i.updated_at,
});

export const presentOperatorAction = (a: Selectable<OperatorActionsTable>) => ({
  id: a.id,
  at: a.at,
  tokenName: a.token_name,
  action: a.action,
  target: a.target,
  outcome: a.outcome,
  detail: a.detail,
  sourceIp: a.source_ip,
  requestId: a.request_id,
});
