import { decideDelivery, decideNotification, type OrderSnapshot } from '../../src/domain/decide';
import { notificationDedupKey } from '../../src/domain/dedup-key';
import type { NormalizedNotification } from '../../src/domain/notification';
import { NEW_ORDER } from '../../src/domain/order-status';

function n(statusRaw: string, status: NormalizedNotification['status'], extra: Partial<NormalizedNotification> = {}): NormalizedNotification {
  return {
    provider: 'lyra',
    format: 'form',
    shopId: '12345678',
    mode: 'TEST',
    orderId: 'CMD-1',
    transactionId: 'a'.repeat(32),
    status,
    statusRaw,
    operation: 'debit',
    operationRaw: 'DEBIT',
    amount: 4990,
    currency: 'EUR',
    sequenceNumber: 1,
    paymentConfig: 'SINGLE',
    source: 'PAY',
    eventTime: null,
    failureIsFinal: true,
    ...extra,
  };
}

const empty: OrderSnapshot = { order: NEW_ORDER, transactions: [] };

function after(...notifications: NormalizedNotification[]): OrderSnapshot {
  let snapshot = empty;
  notifications.forEach((notification, i) => {
    const d = decideNotification(snapshot, notification, i + 1);
    snapshot = { order: d.order, transactions: d.transaction ? [...snapshot.transactions.filter((t) => t.transactionId !== d.transaction?.transactionId), d.transaction] : snapshot.transactions };
  });
  return snapshot;
}

describe('decideNotification', () => {
  it('a new authorisation pays the order', () => {
    const d = decideDelivery(empty, [{ notification: n('AUTHORISED', 'authorised'), id: 1 }]);
    expect(d.decisions[0]).toMatchObject({ outcome: 'applied' });
    expect(d.order.status).toBe('PAID');
    expect(d.events.map((e) => e.type)).toEqual(['order.paid']);
  });

  it('same transaction, same status: duplicate; unreachable status: stale', () => {
    const paid = after(n('CAPTURED', 'captured'));
    expect(decideNotification(paid, n('CAPTURED', 'captured'), 9).outcome).toBe('duplicate');
    expect(decideNotification(paid, n('AUTHORISED', 'authorised'), 9)).toMatchObject({ outcome: 'stale', detail: 'AUTHORISED is stale after CAPTURED', transaction: null });
  });

  it('unknown status or operation: recorded, order unchanged', () => {
    const paid = after(n('AUTHORISED', 'authorised'));
    expect(decideNotification(paid, n('SOMETHING_NEW', 'unknown'), 9)).toMatchObject({ outcome: 'unknown_status', order: paid.order, events: [] });
    expect(decideNotification(paid, n('CAPTURED', 'captured', { operation: 'unknown', operationRaw: 'ODD' }), 9)).toMatchObject({ outcome: 'unknown_status' });
  });

  it('a failed attempt emits payment.attempt_failed, and order.failed only when final', () => {
    const closed = decideDelivery(empty, [{ notification: n('REFUSED', 'refused'), id: 1 }]);
    expect(closed.events.map((e) => e.type)).toEqual(['payment.attempt_failed', 'order.failed']);
    const open = decideDelivery(empty, [{ notification: n('REFUSED', 'refused', { failureIsFinal: false }), id: 1 }]);
    expect(open.events.map((e) => e.type)).toEqual(['payment.attempt_failed']);
    expect(open.order.status).toBe('PENDING');
  });

  it('a delivery of several attempts emits one order event for where it ends', () => {
    const d = decideDelivery(empty, [
      { notification: n('REFUSED', 'refused', { transactionId: 'b'.repeat(32) }), id: 1 },
      { notification: n('AUTHORISED', 'authorised', { sequenceNumber: 2 }), id: 2 },
    ]);
    expect(d.events.map((e) => e.type)).toEqual(['payment.attempt_failed', 'order.paid']);
  });

  it('abandoned without a transaction cancels a new order once', () => {
    const abandon = n('ABANDONED', 'abandoned', { transactionId: null, sequenceNumber: null });
    const first = decideDelivery(empty, [{ notification: abandon, id: 1 }]);
    expect(first.order.status).toBe('CANCELLED');
    expect(first.events.map((e) => e.type)).toEqual(['order.cancelled']);
    expect(decideNotification({ order: first.order, transactions: [] }, abandon, 2).outcome).toBe('duplicate');
  });

  it('a back-office resend missing fields keeps what was known', () => {
    const pending = after(n('AUTHORISED_TO_VALIDATE', 'pending'));
    const d = decideNotification(pending, n('AUTHORISED', 'authorised', { paymentConfig: null, amount: null }), 2);
    expect(d.transaction).toMatchObject({ paymentConfig: 'SINGLE', amount: 4990, status: 'authorised' });
  });
});

describe('notificationDedupKey', () => {
  it('ignores per-call fields and format, separates status, operation, mode and sequence', () => {
    const base = n('AUTHORISED', 'authorised');
    expect(notificationDedupKey({ ...base, source: 'BO', format: 'rest', paymentConfig: null })).toBe(notificationDedupKey(base));
    for (const change of [{ statusRaw: 'CAPTURED' }, { operation: 'refund' as const }, { mode: 'PRODUCTION' as const }, { sequenceNumber: 2 }, { shopId: '1' }, { transactionId: 'c'.repeat(32) }]) {
      expect(notificationDedupKey({ ...base, ...change })).not.toBe(notificationDedupKey(base));
    }
  });

  it('uses the order id when there is no transaction, unambiguously', () => {
    const a = n('ABANDONED', 'abandoned', { transactionId: null, orderId: 'A","tx' });
    const b = n('ABANDONED', 'abandoned', { transactionId: null, orderId: 'A' });
    expect(notificationDedupKey(a)).not.toBe(notificationDedupKey(b));
  });
});

describe('amount mismatch', () => {
  const refused = n('REFUSED', 'refused', { transactionId: 'b'.repeat(32), amount: 1000, failureIsFinal: false });

  it('an attempt for another amount than the first attempt is flagged in the detail and every event', () => {
    const d = decideDelivery(after(refused), [{ notification: n('AUTHORISED', 'authorised', { amount: 10 }), id: 2 }]);
    const decision = d.decisions[0];
    expect(decision?.amountMismatch).toEqual({ expected: 1000, received: 10 });
    expect(decision?.detail).toBe("AUTHORISED, order PAID, amount 10 differs from the order's 1000");
    expect(d.events.map((e) => [e.type, e.amountMismatch])).toEqual([['order.paid', { expected: 1000, received: 10 }]]);
  });

  it('the same amount, a first attempt, a refund and a later installment are not flagged', () => {
    expect(decideNotification(after(refused), n('AUTHORISED', 'authorised', { amount: 1000 }), 2).amountMismatch).toBeNull();
    expect(decideNotification(empty, n('AUTHORISED', 'authorised', { amount: 10 }), 1).amountMismatch).toBeNull();
    const paid = after(n('AUTHORISED', 'authorised', { amount: 1000 }));
    expect(decideNotification(paid, n('CAPTURED', 'captured', { transactionId: 'c'.repeat(32), operation: 'refund', amount: 300 }), 2).amountMismatch).toBeNull();
    const installments = after(n('AUTHORISED', 'authorised', { amount: 2000, paymentConfig: 'MULTI:first=2000;count=2;period=30' }));
    expect(decideNotification(installments, n('AUTHORISED', 'authorised', { transactionId: 'd'.repeat(32), sequenceNumber: 2, amount: 1000, paymentConfig: 'MULTI:first=2000;count=2;period=30' }), 2).amountMismatch).toBeNull();
  });
});
