import fc from 'fast-check';
import { FieldError } from '../../../src/providers/fields';
import { normalizeLyraOrderTransactions } from '../../../src/providers/lyra';

/** Order/Get's answer, trimmed, as Lyra documents it (https://docs.lyra.com/en/rest/V4.0/api/reference.html). */
const answer = (transactions: unknown[], orderId = 'CMD-1') => ({ orderId, shopId: '12345678', _type: 'V4/OrderTransactions', transactions });
const tx = (over: Record<string, unknown> = {}) => ({
  uuid: '598fd801aa8946eaa93f5916547cae9b',
  status: 'PAID',
  detailedStatus: 'CAPTURED',
  operationType: 'DEBIT',
  amount: 12000,
  currency: 'EUR',
  transactionDetails: { sequenceNumber: 1 },
  orderDetails: { orderId: 'CMD-1', mode: 'TEST' },
  _type: 'V4/Transaction',
  ...over,
});

describe("Order/Get's transactions, read as the IPN's are", () => {
  it('gives one notification per transaction, refunds as refunds', () => {
    const read = normalizeLyraOrderTransactions(answer([tx(), tx({ uuid: 'b'.repeat(32), operationType: 'CREDIT', amount: 2000 })]), '12345678', 'TEST', 'CMD-1');
    expect(read.map((n) => [n.transactionId, n.operation, n.status, n.statusRaw, n.amount, n.sequenceNumber, n.format, n.source, n.failureIsFinal])).toEqual([
      ['598fd801aa8946eaa93f5916547cae9b', 'debit', 'captured', 'CAPTURED', 12000, 1, 'rest', 'API', false],
      ['b'.repeat(32), 'refund', 'captured', 'CAPTURED', 2000, 1, 'rest', 'API', false],
    ]);
  });

  it.each([
    [answer([tx()], 'CMD-2'), 'the answer is for order CMD-2, not CMD-1'],
    [answer([tx({ orderDetails: { mode: 'PRODUCTION' } })]), 'transactions[0].orderDetails.mode is "PRODUCTION", not TEST'],
    [answer([tx({ uuid: undefined })]), 'transactions[0].uuid is missing'],
    [answer([tx({ currency: 'XYZ' })]), 'transactions[0].currency is not an ISO 4217 code'],
    [{ orderId: 'CMD-1', transactions: {} }, 'transactions is not an array'],
    ['nope', 'the answer is not a JSON object'],
  ])('refuses %j: %s', (given, message) => {
    expect(() => normalizeLyraOrderTransactions(given, '12345678', 'TEST', 'CMD-1')).toThrow(new FieldError(message));
  });

  it('whatever JSON comes back, it reads it or says what is wrong, never anything else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.jsonValue(), { maxLength: 3 }), (any, transactions) => {
        for (const given of [any, answer(transactions)]) {
          try {
            normalizeLyraOrderTransactions(given, '12345678', 'TEST', 'CMD-1');
          } catch (error) {
            expect(error).toBeInstanceOf(FieldError);
          }
        }
      }),
    );
  });
});
