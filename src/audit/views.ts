import type { Kysely } from 'kysely';
import { orderAggregateId } from '../domain/events';
import * as store from '../store/audit';
import type { Database } from '../store/schema';
import { presentDelivery, presentEvent, presentNotification, presentOrder, presentRaw } from './present';

// The composite answers of the audit API and CLI, built once for both.

export async function deliveryView(db: Kysely<Database>, id: number) {
  const delivery = await store.getDelivery(db, id);
  if (delivery === undefined) return undefined;
  const notifications = await store.notificationsOfDelivery(db, id);
  return {
    ...presentDelivery(delivery),
    raw: presentRaw(delivery.raw_body, delivery.raw_query),
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
    raw: rawDelivery === undefined ? null : { deliveryId: rawDelivery.id, ...presentRaw(rawDelivery.raw_body, rawDelivery.raw_query) },
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
