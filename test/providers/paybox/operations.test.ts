import fc from 'fast-check';
import type { TransactionStatus } from '../../../src/domain/notification';
import { NEW_ORDER, type OrderState } from '../../../src/domain/order-status';
import { parsePayboxReturn, type PayboxSite } from '../../../src/providers/paybox';
import { askableTransactions, operationNotification, planOperation, readInquiry, type PayboxTransaction } from '../../../src/providers/paybox/operations';

const site = (capture: PayboxSite['capture']): PayboxSite => ({
  id: '1999888-32',
  site: '1999888',
  rang: '32',
  mode: 'TEST',
  currency: 'EUR',
  retour: parsePayboxReturn('Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K'),
  capture,
  direct: { site: '1999888', rang: '32', version: '00103', hmacKeyHex: 'AB'.repeat(64), urls: ['https://ppps.paybox.com/PPPS.php'] },
});

const tx = (status: TransactionStatus, over: Partial<PayboxTransaction> = {}): PayboxTransaction => ({
  transactionId: '71622616',
  operation: 'debit',
  status,
  statusRaw: status === 'authorised' ? '00000' : status,
  amount: 4990,
  currency: 'EUR',
  sequenceNumber: null,
  paymentConfig: null,
  failureIsFinal: false,
  lastNotificationId: 1,
  callNumber: '12345678',
  ...over,
});
const paid = (refunded = 0): OrderState => ({ ...NEW_ORDER, status: refunded >= 4990 ? 'REFUNDED' : 'PAID', paidAmount: 4990, refundedAmount: refunded, currency: 'EUR' });
const detail = (plan: ReturnType<typeof planOperation>) => (plan.ok ? `ok ${plan.amount} of ${plan.target.transactionId}/${plan.target.callNumber}` : plan.detail);

describe('planOperation: an operation checked against the order before anything is sent', () => {
  it.each([
    ['deferred', 'capture', [tx('authorised')], undefined, 'ok 4990 of 71622616/12345678'],
    ['deferred', 'capture', [tx('authorised')], 1000, 'ok 1000 of 71622616/12345678'],
    ['deferred', 'capture', [tx('authorised')], 5000, 'a capture of 5000 exceeds the 4990 authorised'],
    ['deferred', 'capture', [tx('captured')], undefined, 'order is PAID: no authorised payment waits for capture'],
    ['immediate', 'capture', [tx('authorised')], undefined, /captures at payment/],
    ['deferred', 'capture', [tx('authorised', { callNumber: null })], undefined, 'order is PAID: no authorised payment waits for capture'],
    ['deferred', 'capture', [tx('authorised', { transactionId: 'auth-XXXXXX' })], undefined, 'order is PAID: no authorised payment waits for capture'],
    ['deferred', 'cancel', [tx('authorised')], undefined, 'ok 4990 of 71622616/12345678'],
    ['deferred', 'cancel', [tx('authorised')], 100, 'a cancel is of the whole payment (4990), not of 100'],
    ['deferred', 'cancel', [tx('captured')], undefined, /no payment is left to cancel before capture/],
    ['deferred', 'refund', [tx('authorised')], undefined, 'the payment is authorised, not captured: cancel it instead of refunding'],
    ['deferred', 'refund', [tx('captured')], 990, 'ok 990 of 71622616/12345678'],
    ['immediate', 'refund', [tx('authorised')], undefined, 'ok 4990 of 71622616/12345678'],
    ['immediate', 'refund', [tx('refused')], undefined, 'order is PAID: no captured payment to refund'],
  ] as const)('%s site, %s of %o, amount %s → %s', (capture, operation, transactions, amount, expected) => {
    const plan = planOperation(site(capture), paid(), transactions, { operation, ...(amount === undefined ? {} : { amount }) }, 0);
    if (typeof expected === 'string') expect(detail(plan)).toBe(expected);
    else expect(detail(plan)).toMatch(expected);
  });

  it('a refund counts those refunded and those whose outcome is unknown', () => {
    expect(detail(planOperation(site('immediate'), paid(1000), [tx('authorised')], { operation: 'refund' }, 500))).toBe('ok 3490 of 71622616/12345678');
    expect(detail(planOperation(site('immediate'), paid(1000), [tx('authorised')], { operation: 'refund', amount: 3500 }, 500))).toBe(
      'a refund of 3500 exceeds the 3490 left to refund (4990 paid, 1000 refunded, less 500 of refunds whose outcome is not known yet (reconcile the order))',
    );
    expect(detail(planOperation(site('immediate'), paid(1000), [tx('authorised')], { operation: 'cancel' }, 0))).toBe('part of the order was refunded: refund the rest instead of cancelling');
  });

  it('the latest attempt is the one operated on', () => {
    const older = tx('refused', { transactionId: '100', lastNotificationId: 1 });
    const newer = tx('authorised', { transactionId: '200', callNumber: '201', lastNotificationId: 2 });
    expect(detail(planOperation(site('deferred'), paid(), [newer, older], { operation: 'capture' }, 0))).toBe('ok 4990 of 200/201');
  });

  it('whatever refunds are asked, in any order and amount, the accepted ones never exceed what was paid', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 1, max: 6000 }), { nil: undefined }), { maxLength: 12 }), fc.integer({ min: 0, max: 3000 }), (amounts, unknown) => {
        let refunded = 0;
        for (const amount of amounts) {
          const plan = planOperation(site('immediate'), paid(refunded), [tx('authorised')], { operation: 'refund', ...(amount === undefined ? {} : { amount }) }, unknown);
          if (plan.ok) {
            expect(plan.amount).toBeGreaterThan(0);
            refunded += plan.amount;
          } else {
            expect(amount === undefined || amount > 4990 - refunded - unknown || 4990 - refunded - unknown <= 0).toBe(true);
          }
          expect(refunded + unknown).toBeLessThanOrEqual(Math.max(4990, unknown));
        }
      }),
    );
  });
});

describe('readInquiry: what an inquiry STATUS says of an attempt', () => {
  const read = (known: PayboxTransaction, status: string | null, order = paid()) => readInquiry(site('immediate'), 'CMD-1', order, known, status);

  it('the status known changes nothing', () => {
    expect(read(tx('authorised'), 'Autorisé')).toEqual({ kind: 'unchanged', detail: 'Paybox says Autorisé of transaction 71622616: as known' });
  });

  it('another status is a notification for the transitions to judge, spelled one way whatever the accents', () => {
    for (const status of ['Capturé', 'Capture', 'CAPTURÉ']) {
      const reading = read(tx('authorised'), status);
      expect(reading).toMatchObject({ kind: 'apply', notification: { transactionId: '71622616', status: 'captured', statusRaw: 'Capturé', operation: 'debit', amount: 4990, format: 'direct', callNumber: '12345678' } });
    }
    expect(read(tx('captured'), 'Refusé')).toMatchObject({ kind: 'apply', notification: { status: 'refused', statusRaw: 'Refusé' } });
  });

  it('Remboursé with no refund known: the whole attempt refunded; with some known: nothing more', () => {
    expect(read(tx('captured'), 'Remboursé')).toMatchObject({ kind: 'apply', notification: { transactionId: 'refund-71622616-inquiry', operation: 'refund', status: 'captured', amount: 4990, paymentOf: '71622616' }, note: 'the inquiry gives no amount: the whole payment is taken as refunded' });
    expect(read(tx('captured'), 'Remboursé', paid(1000))).toMatchObject({ kind: 'unchanged' });
    expect(read(tx('refused'), 'Remboursé')).toMatchObject({ kind: 'unchanged' });
  });

  it('a status the service does not read, or none, is recorded as such', () => {
    expect(read(tx('authorised'), 'Rejet support')).toEqual({ kind: 'unchanged', detail: 'Paybox says Rejet support of transaction 71622616: not a status the service applies' });
    expect(read(tx('authorised'), null)).toMatchObject({ kind: 'unchanged' });
  });
});

describe('operationNotification', () => {
  it('a refund is a transaction of its own per operation; a capture or cancel moves its attempt', () => {
    const target = { transactionId: '71622616', callNumber: '12345678', amount: 4990 };
    expect(operationNotification(site('deferred'), 'CMD-1', 'EUR', 'refund', target, 1000, 7)).toMatchObject({ transactionId: 'refund-7', operation: 'refund', status: 'captured', statusRaw: 'Remboursé', amount: 1000 });
    expect(operationNotification(site('deferred'), 'CMD-1', 'EUR', 'capture', target, 4000, 8)).toMatchObject({ transactionId: '71622616', operation: 'debit', status: 'captured', statusRaw: 'Capturé', amount: 4000, callNumber: '12345678' });
    expect(operationNotification(site('deferred'), 'CMD-1', 'EUR', 'cancel', target, 4990, 9)).toMatchObject({ status: 'cancelled', statusRaw: 'Annulé' });
  });

  it('only the debits with S and T can be asked about', () => {
    expect(askableTransactions([tx('authorised'), tx('refused', { transactionId: 'call-5' }), tx('captured', { operation: 'refund', transactionId: '9' })])).toEqual([{ transactionId: '71622616', callNumber: '12345678', amount: 4990 }]);
  });
});
