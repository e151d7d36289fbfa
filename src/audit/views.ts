import type { Kysely } from 'kysely';
import { orderAggregateId } from '../domain/events';
import * as store from '../store/audit';
import type { Database } from '../store/schema';
import { presentDelivery, presentEvent, presentInstallment, presentNotification, presentOrder, presentRaw, presentSubscription } from './present';

// The composite answers of the audit API and CLI, built once for both.

export async function deliveryView(db: Kysely<Database>, id: number) {
  const delivery = await store.getDelivery(db, id);
  if (delivery === undefined) return undefined;
  const notifications = await store.notificationsOfDelivery(db, id);
  return {
    ...presentDelivery(delivery),
    raw: presentRaw(delivery.raw_body, delivery.raw_query, delivery.content_type),
    notifications: notifications.map((n) => ({ id: n.id, orderId: n.order_id, statusRaw: n.status_raw, outcome: n.outcome })),
  };
}

export async function notificationView(db: Kysely<Database>, id: number) {
  const notification = await store.getNotification(db, id);
  if (notification === undefined) return undefined;
  const [deliveries, events, rawDeliveryId] = await Promise.all([store.deliveriesOfNotification(db, id), store.eventsOfNotification(db, id), store.latestRawDeliveryOf(db, id)]);
  const rawDelivery = rawDeliveryId === undefined ? undefined : await store.getDelivery(db, rawDeliveryId);
  return {
    ...presentNotification(notification),
    raw: rawDelivery === undefined ? null : { deliveryId: rawDelivery.id, ...presentRaw(rawDelivery.raw_body, rawDelivery.raw_query, rawDelivery.content_type) },
    deliveries: deliveries.map((d) => ({ ...presentDelivery(d), outcome: d.outcome })),
    events: events.map(presentEvent),
  };
}

/** Every order with this id (several shops, providers or modes may share one), with its history. */
export async function orderViews(db: Kysely<Database>, lookup: store.OrderLookup) {
  const orders = await store.findOrders(db, lookup);
  return Promise.all(
    orders.map(async (order) => {
      const aggregateId = orderAggregateId({ provider: order.provider, shopId: order.shop_id, mode: order.mode, orderId: order.order_id });
      const [transactions, notifications, events] = await Promise.all([store.transactionsOfOrder(db, order.id), store.notificationsOfOrder(db, order.id), store.eventsOfAggregate(db, aggregateId)]);
      return presentOrder(order, transactions, notifications, events);
    }),
  );
}

const walletKey = (row: { provider: string; shop_id: string; mode: string; subscription_id: string; token: string }) => JSON.stringify([row.provider, row.shop_id, row.mode, row.subscription_id, row.token]);

/**
 * Every subscription of this id with its installments. An installment may be known without its
 * subscription (created before this service received anything): it is shown under a subscription
 * of unknown status.
 */
export async function subscriptionViews(db: Kysely<Database>, lookup: store.SubscriptionLookup) {
  const { subscriptions, installments } = await store.findSubscriptions(db, lookup);
  const views = new Map(subscriptions.map((s) => [walletKey(s), presentSubscription(s)]));
  for (const row of installments) {
    const key = walletKey(row);
    if (!views.has(key)) views.set(key, presentSubscription({ ...row, customer_id: null, status_raw: null, amount: null, currency: null, rule: null, effect_date: null, initial_amount: null, initial_amount_count: null, order_id: null, created_at: row.created_at }));
    views.get(key)?.installments.push(presentInstallment(row));
  }
  return [...views.values()];
}
