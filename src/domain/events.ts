import type { DomainEvent } from './decide';
import type { NormalizedNotification } from './notification';
import type { OrderState } from './order-status';

export interface OrderIdentity {
  provider: string;
  shopId: string;
  mode: string;
  orderId: string;
}

/**
 * The outbox aggregate of an order. The mode is part of it: a TEST notification must never
 * move a PRODUCTION order that happens to share its id.
 */
export function orderAggregateId(order: OrderIdentity): string {
  return `${order.provider}:${order.shopId}:${order.mode}:${order.orderId}`;
}

export function orderIdentityOf(n: NormalizedNotification): OrderIdentity {
  return { provider: n.provider, shopId: n.shopId, mode: n.mode, orderId: n.orderId };
}

/** The JSON body of an outbox event, as the relay delivers it and Debezium publishes it. */
export function buildEventPayload(
  eventId: string,
  event: DomainEvent,
  identity: OrderIdentity,
  previousOrder: OrderState,
  order: OrderState,
  notificationId: number,
  occurredAt: Date,
) {
  const tx = event.transaction;
  return {
    id: eventId,
    type: event.type,
    occurredAt: occurredAt.toISOString(),
    order: {
      ...identity,
      status: order.status,
      previousStatus: previousOrder.status,
      paidAmount: order.paidAmount,
      refundedAmount: order.refundedAmount,
      currency: order.currency,
    },
    transaction:
      tx === null
        ? null
        : {
            id: tx.transactionId,
            operation: tx.operation,
            status: tx.status,
            statusRaw: tx.statusRaw,
            amount: tx.amount,
            currency: tx.currency,
            sequenceNumber: tx.sequenceNumber,
          },
    amountMismatch: event.amountMismatch ?? null,
    notificationId,
  };
}
