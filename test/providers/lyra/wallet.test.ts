import fc from 'fast-check';
import { handleLyraNotification, type LyraShop } from '../../../src/providers/lyra';
import { lyraFormBody, type LyraNotificationOptions } from '../../../src/tools/lyra-notifications';

const shop: LyraShop = { shopId: '12345678', algorithm: 'HMAC-SHA-256', testKey: 'TestKey-wallet', apiUrl: 'https://api.payzen.eu' };
const shops = new Map([[shop.shopId, shop]]);
const handle = (o: Omit<LyraNotificationOptions, 'shopId'>) => handleLyraNotification(Buffer.from(lyraFormBody({ shopId: shop.shopId, ...o }, shop.testKey as string)), shops);
const accepted = (result: ReturnType<typeof handle>) => {
  if (!result.ok) throw new Error(result.rejection.reason);
  return result;
};

describe('Lyra form: tokens, subscriptions, installments', () => {
  it('REGISTER_PAY_SUBSCRIBE reports the payment of its order, the token and the subscription', () => {
    const result = accepted(handle({ orderId: 'O-1', status: 'CAPTURED', amount: 990, wallet: { pageAction: 'REGISTER_PAY_SUBSCRIBE', token: 'tok1', subscription: 'SUB-9', customerId: 'C-1' } }));
    expect(result.notifications.map((n) => [n.orderId, n.statusRaw, n.operation])).toEqual([['O-1', 'CAPTURED', 'debit']]);
    expect(result.wallet?.map((w) => w.kind)).toEqual(['payment_method', 'subscription']);
    expect(result.wallet?.[1]).toMatchObject({ subscriptionId: 'SUB-9', token: 'tok1', customerId: 'C-1', statusRaw: 'CREATED', amount: 990, currency: 'EUR', effectDate: '2027-01-01' });
  });

  it('an installment (vads_recurrence_number) is a payment of its subscription, not of its order', () => {
    const result = accepted(handle({ orderId: 'O-2', status: 'CAPTURED', wallet: { subscription: 'SUB-9', token: 'tok1', recurrence: 3 } }));
    expect(result.notifications).toEqual([]);
    expect(result.wallet).toEqual([expect.objectContaining({ kind: 'installment', subscriptionId: 'SUB-9', recurrenceNumber: 3, status: 'captured', statusRaw: 'CAPTURED', amount: 4990, currency: 'EUR' })]);
  });

  it('an unreadable token field is recorded as not applied, never refused', () => {
    const result = handle({ orderId: 'O-3', status: 'CAPTURED', wallet: { pageAction: 'REGISTER_SUBSCRIBE', token: 'tok1' }, extraFields: { vads_sub_effect_date: '2027-1-1' } });
    expect(result).toEqual({ ok: true, notifications: [], ignored: 'vads_sub_effect_date is not YYYYMMDD', ignoredKind: 'unrecognized' });
  });

  it('never keeps more of the card than its brand, last four digits and expiry', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{6}X{6}\d{4}$/), (pan) => {
        const result = accepted(handle({ orderId: '', status: 'ACCEPTED', wallet: { pageAction: 'REGISTER', withoutTransaction: true }, extraFields: { vads_card_number: pan } }));
        const saved = result.wallet?.[0];
        expect(saved?.kind === 'payment_method' && saved.card.last4).toBe(pan.slice(-4));
        expect(JSON.stringify(result)).not.toContain(pan.slice(0, 6));
      }),
      { numRuns: 50 },
    );
  });
});
