import fc from 'fast-check';
import { TRANSACTION_STATUSES, type Operation, type TransactionStatus } from '../../src/domain/notification';
import { deriveOrderState, isLaterInstallment, type TransactionState } from '../../src/domain/order-status';

let nextId = 1;
function tx(status: TransactionStatus, extra: Partial<TransactionState> = {}): TransactionState {
  const id = nextId++;
  return {
    transactionId: `t${id}`,
    operation: 'debit',
    status,
    statusRaw: status.toUpperCase(),
    amount: 1000,
    currency: 'EUR',
    sequenceNumber: 1,
    paymentConfig: 'SINGLE',
    failureIsFinal: true,
    lastNotificationId: id,
    ...extra,
  };
}

describe('deriveOrderState', () => {
  it('no transaction: PENDING', () => {
    expect(deriveOrderState([], false).status).toBe('PENDING');
  });

  it('refused then authorised attempt: PAID', () => {
    expect(deriveOrderState([tx('refused'), tx('authorised', { sequenceNumber: 2 })], false)).toMatchObject({ status: 'PAID', paidAmount: 1000 });
  });

  it('authorised then a refused attempt: still PAID', () => {
    expect(deriveOrderState([tx('authorised'), tx('refused', { sequenceNumber: 2 })], false).status).toBe('PAID');
  });

  it('a final refusal: FAILED; a refusal of an open cycle: PENDING', () => {
    expect(deriveOrderState([tx('refused')], false).status).toBe('FAILED');
    expect(deriveOrderState([tx('refused', { failureIsFinal: false })], false).status).toBe('PENDING');
  });

  it('the latest final outcome decides between FAILED and CANCELLED', () => {
    expect(deriveOrderState([tx('refused'), tx('cancelled')], false).status).toBe('CANCELLED');
    expect(deriveOrderState([tx('cancelled'), tx('expired')], false).status).toBe('FAILED');
  });

  it('a pending attempt keeps it PENDING', () => {
    expect(deriveOrderState([tx('refused'), tx('pending')], false).status).toBe('PENDING');
  });

  it('abandoned without transaction: CANCELLED', () => {
    expect(deriveOrderState([], true).status).toBe('CANCELLED');
  });

  it('partial refund stays PAID with the refunded amount, full refund is REFUNDED', () => {
    const paid = tx('captured', { amount: 5000 });
    expect(deriveOrderState([paid, tx('captured', { operation: 'refund', amount: 2000 })], false)).toMatchObject({ status: 'PAID', refundedAmount: 2000 });
    expect(deriveOrderState([paid, tx('captured', { operation: 'refund', amount: 2000 }), tx('authorised', { operation: 'refund', amount: 3000 })], false)).toMatchObject({
      status: 'REFUNDED',
      refundedAmount: 5000,
    });
  });

  it('a refused refund refunds nothing', () => {
    expect(deriveOrderState([tx('captured'), tx('refused', { operation: 'refund' })], false).status).toBe('PAID');
  });

  it('installments: the first decides, later ones do not', () => {
    const config = 'MULTI:first=2000;count=3;period=30';
    const first = tx('authorised', { paymentConfig: config, sequenceNumber: 1, amount: 2000 });
    const second = tx('refused', { paymentConfig: config, sequenceNumber: 2, amount: 1500 });
    expect(isLaterInstallment(second, [first, second])).toBe(true);
    expect(isLaterInstallment(first, [first, second])).toBe(false);
    expect(deriveOrderState([first, second], false)).toMatchObject({ status: 'PAID', paidAmount: 2000 });
  });

  it('verifications never change the order', () => {
    expect(deriveOrderState([tx('accepted', { operation: 'verification' })], false).status).toBe('PENDING');
  });

  it('property: a successful debit always makes the order PAID or REFUNDED, whatever else happened', () => {
    const anyTx = fc.record({
      status: fc.constantFrom(...TRANSACTION_STATUSES),
      operation: fc.constantFrom<Operation>('debit', 'refund', 'verification'),
      failureIsFinal: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(anyTx, { maxLength: 8 }), fc.constantFrom<TransactionStatus>('authorised', 'captured'), fc.boolean(), (others, success, abandoned) => {
        const all = [...others.map((o) => tx(o.status, { operation: o.operation, failureIsFinal: o.failureIsFinal })), tx(success)];
        expect(['PAID', 'REFUNDED']).toContain(deriveOrderState(all, abandoned).status);
      }),
    );
  });
});
