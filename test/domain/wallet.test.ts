import fc from 'fast-check';
import { TRANSACTION_STATUSES, type TransactionStatus } from '../../src/domain/notification';
import { decideInstallment, decidePaymentMethod, decideSubscription, type InstallmentNotification, type PaymentMethodNotification, type StoredInstallment } from '../../src/domain/wallet';

const card = { brand: 'CB', last4: '0055', expiryMonth: 6, expiryYear: 2030 };
const token = (statusRaw: string, over: Partial<PaymentMethodNotification> = {}): PaymentMethodNotification => ({
  kind: 'payment_method', provider: 'lyra', shopId: 'S', mode: 'TEST', token: 'T', customerId: 'C', statusRaw, card, ...over,
});
const installment = (status: TransactionStatus, statusRaw: string = status.toUpperCase()): InstallmentNotification => ({
  kind: 'installment', provider: 'lyra', shopId: 'S', mode: 'TEST', subscriptionId: 'SUB', token: 'T', recurrenceNumber: 1, transactionId: 'tx', status, statusRaw, amount: 100, currency: 'EUR',
});

describe('tokens', () => {
  it('a new token is saved, the same one again is a duplicate, another card is an update', () => {
    expect(decidePaymentMethod(null, token('CREATED'))).toEqual({ outcome: 'applied', detail: 'payment method saved', event: 'payment_method.saved' });
    const stored = { statusRaw: 'CREATED', customerId: 'C', card };
    expect(decidePaymentMethod(stored, token('CREATED')).outcome).toBe('duplicate');
    expect(decidePaymentMethod(stored, token('UPDATED', { card: { ...card, expiryYear: 2031 } })).event).toBe('payment_method.updated');
    expect(decidePaymentMethod(null, token('UPDATED')).event).toBe('payment_method.updated');
  });

  it.each(['NOT_CREATED', 'NOT_UPDATED', 'ABANDONED', 'SOMETHING_NEW'])('%s saves nothing and announces nothing', (status) => {
    expect(decidePaymentMethod(null, token(status))).toMatchObject({ outcome: 'unknown_status', event: null });
  });
});

describe('subscriptions', () => {
  it('is announced once when created; a creation that failed is recorded only', () => {
    const created = { kind: 'subscription' as const, provider: 'lyra' as const, shopId: 'S', mode: 'TEST' as const, subscriptionId: 'SUB', token: 'T', customerId: null, statusRaw: 'CREATED', amount: 100, currency: 'EUR', rule: null, effectDate: null, initialAmount: null, initialAmountCount: null, orderId: null };
    expect(decideSubscription(null, created).event).toBe('subscription.created');
    expect(decideSubscription({ statusRaw: 'CREATED' }, created).outcome).toBe('duplicate');
    expect(decideSubscription(null, { ...created, statusRaw: 'NOT_CREATED' })).toMatchObject({ outcome: 'unknown_status', event: null });
  });
});

describe('installments', () => {
  const known = TRANSACTION_STATUSES.filter((s) => s !== 'unknown');

  it('whatever statuses arrive, in any order and repeated, a paid installment is announced again only after a failure, and a captured one never changes', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...known), { maxLength: 12 }), (arrivals) => {
        let stored: StoredInstallment | null = null;
        let lastEvent: string | null = null;
        for (const status of arrivals) {
          const decision = decideInstallment(stored, installment(status));
          // Authorised, capture failed, then captured after support's intervention: paid, failed, paid.
          if (decision.event === 'subscription.payment_succeeded') expect(lastEvent).not.toBe('subscription.payment_succeeded');
          if (decision.event !== null) lastEvent = decision.event;
          if (decision.outcome === 'applied') {
            expect(stored?.status).not.toBe('captured');
            stored = { status, statusRaw: status.toUpperCase() };
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a repeated status is a duplicate, a backwards one stale, an unknown one recorded only', () => {
    expect(decideInstallment({ status: 'captured', statusRaw: 'CAPTURED' }, installment('captured')).outcome).toBe('duplicate');
    expect(decideInstallment({ status: 'captured', statusRaw: 'CAPTURED' }, installment('refused')).outcome).toBe('stale');
    expect(decideInstallment(null, installment('unknown', 'NEW_STATUS'))).toMatchObject({ outcome: 'unknown_status', event: null });
    expect(decideInstallment(null, installment('refused')).event).toBe('subscription.payment_failed');
    expect(decideInstallment(null, installment('pending')).event).toBeNull();
  });
});
