import request from 'supertest';
import { lyraRestAnswer, type LyraWalletOptions } from '../../src/tools/lyra-notifications';
import { AUDIT_TOKEN, createTestApp, HMAC_SHOP, recordedCalls, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { formBody, postLyra, sendForm } from '../helpers/lyra';
import { encodeForm, lyraRestFields } from '../../src/tools/lyra-notifications';

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  t = createTestApp(database, { AUDIT_API_TOKEN: AUDIT_TOKEN });
});
afterAll(() => database.close());
beforeEach(() => database.reset());

const TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
interface EventPayload {
  installment: { number: number; statusRaw: string };
  [field: string]: unknown;
}
const events = async (aggregate?: string) =>
  (await database.db.selectFrom('outbox').select(['type', 'aggregatetype', 'aggregateid', 'payload']).orderBy('seq').execute())
    .filter((e) => aggregate === undefined || e.aggregatetype === aggregate)
    .map((e) => ({ type: e.type, aggregateid: e.aggregateid, payload: e.payload as EventPayload }));
const orders = () => database.db.selectFrom('orders').select(['order_id', 'status', 'paid_amount']).execute();
const audit = (path: string) => request(t.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);

/** A token request as the platform notifies it; `status` is that of its transaction when it has one. */
const register = (wallet: LyraWalletOptions, orderId = 'REG-1', status = 'ACCEPTED') =>
  sendForm(t.app, { orderId, status, amount: 0, operation: 'VERIFICATION', wallet: { token: TOKEN, customerId: 'C-42', ...wallet } });

describe('Lyra tokens (aliases)', () => {
  it('a token created without a transaction: 200, kept per shop and customer, one payment_method.saved; a resend is a duplicate', async () => {
    const res = await register({ pageAction: 'REGISTER', withoutTransaction: true }, '');
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-applied: payment method saved');
    expect(await database.db.selectFrom('payment_methods').selectAll().execute()).toEqual([
      expect.objectContaining({ provider: 'lyra', shop_id: HMAC_SHOP.shopId, mode: 'TEST', token: TOKEN, customer_id: 'C-42', status_raw: 'CREATED', card_brand: 'CB', card_last4: '0055', card_expiry_month: 6 }),
    ]);
    const again = await register({ pageAction: 'REGISTER', withoutTransaction: true }, '');
    expect(again.text).toBe('OK-duplicate: payment method already saved');
    const saved = await events();
    expect(saved.map((e) => e.type)).toEqual(['payment_method.saved']);
    expect(saved[0]).toMatchObject({
      aggregateid: `lyra:${HMAC_SHOP.shopId}:TEST:${TOKEN}`,
      payload: { type: 'payment_method.saved', provider: 'lyra', shopId: HMAC_SHOP.shopId, mode: 'TEST', paymentMethod: { token: TOKEN, customerId: 'C-42', status: 'CREATED', card: { brand: 'CB', last4: '0055', expiryMonth: 6 } } },
    });
    expect(JSON.stringify(saved[0]?.payload)).not.toContain('497010');
    expect(await orders()).toEqual([]);
    expect((await recordedCalls(t, database)).map((d) => [d.verdict, d.http_status])).toEqual([['applied', 200], ['duplicate', 200]]);
  });

  it('a token created with a card verification: saved, and the verification never pays its order', async () => {
    const res = await register({ pageAction: 'REGISTER' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-applied: order REG-1: ACCEPTED, order stays PENDING; payment method saved');
    expect(await orders()).toEqual([{ order_id: 'REG-1', status: 'PENDING', paid_amount: 0 }]);
    expect((await events()).map((e) => e.type)).toEqual(['payment_method.saved']);
  });

  it('a card verification without an order id records the token alone', async () => {
    expect((await register({ pageAction: 'REGISTER' }, '')).text).toBe('OK-applied: payment method saved');
    expect(await orders()).toEqual([]);
  });

  it('a token updated with a new card: payment_method.updated with its new expiry', async () => {
    await register({ pageAction: 'REGISTER', withoutTransaction: true }, '');
    const res = await sendForm(t.app, { orderId: '', status: 'ACCEPTED', amount: 0, operation: 'VERIFICATION', wallet: { pageAction: 'REGISTER_UPDATE', token: TOKEN, customerId: 'C-42', withoutTransaction: true }, extraFields: { vads_expiry_year: '2031', vads_card_number: '497010XXXXXX0077' } });
    expect(res.text).toBe('OK-applied: payment method updated');
    const [, updated] = await events();
    expect(updated).toMatchObject({ type: 'payment_method.updated', payload: { paymentMethod: { status: 'UPDATED', card: { last4: '0077', expiryYear: 2031 } } } });
  });

  it('a token that was not created is recorded and answered 200, nothing saved', async () => {
    const res = await register({ pageAction: 'REGISTER', tokenStatus: 'NOT_CREATED', withoutTransaction: true }, '');
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-recorded, not applied: payment method NOT_CREATED, nothing saved');
    expect(await database.db.selectFrom('payment_methods').select('id').execute()).toEqual([]);
    expect(await events()).toEqual([]);
  });

  it('a REST answer with a paymentMethodToken saves the token of customer.reference', async () => {
    const answer = lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'REST-T1', status: 'AUTHORISED' });
    const [tx] = answer.transactions as { transactionDetails: Record<string, unknown> }[];
    Object.assign(tx as object, { paymentMethodToken: TOKEN });
    (tx as { transactionDetails: Record<string, unknown> }).transactionDetails.cardDetails = { pan: '497010XXXXXX0055', effectiveBrand: 'VISA', expiryMonth: 11, expiryYear: 2030 };
    answer.customer = { reference: 'C-7', email: 'buyer@example.com' };
    const res = await postLyra(t.app, encodeForm(lyraRestFields(JSON.stringify(answer), HMAC_SHOP.testPassword)));
    expect(res.text).toBe('OK-applied: order REST-T1: AUTHORISED, order PAID; payment method saved');
    expect((await events('payment_method'))[0]?.payload.paymentMethod).toEqual({ token: TOKEN, customerId: 'C-7', status: 'RETURNED', card: { brand: 'VISA', last4: '0055', expiryMonth: 11, expiryYear: 2030 } });
  });

  it('concurrent copies of one token notification announce it once', async () => {
    const body = formBody({ orderId: '', status: 'ACCEPTED', amount: 0, wallet: { pageAction: 'REGISTER', token: TOKEN, withoutTransaction: true } });
    const replies = await Promise.all(Array.from({ length: 6 }, () => postLyra(t.app, body)));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect((await events()).map((e) => e.type)).toEqual(['payment_method.saved']);
  });
});

describe('Lyra subscriptions and their installments', () => {
  const installment = (recurrence: number, status: string, extra: { resend?: boolean; source?: string } = {}) =>
    sendForm(t.app, { orderId: 'SUB-ORDER-1', status, amount: 1990, wallet: { subscription: 'SUB-1', token: TOKEN, recurrence }, ...extra });

  it('a subscription created with its token: subscription.created and payment_method.saved; a resend is a duplicate', async () => {
    const create = () => sendForm(t.app, { orderId: 'SUB-ORDER-1', status: 'ACCEPTED', amount: 1990, wallet: { pageAction: 'REGISTER_SUBSCRIBE', token: TOKEN, subscription: 'SUB-1', withoutTransaction: true } });
    expect((await create()).text).toBe('OK-applied: payment method saved; subscription SUB-1 created');
    expect((await create()).text).toBe('OK-duplicate: payment method already saved; subscription SUB-1 already created');
    const created = await events('subscription');
    expect(created).toEqual([
      expect.objectContaining({
        type: 'subscription.created',
        aggregateid: `lyra:${HMAC_SHOP.shopId}:TEST:SUB-1`,
        payload: expect.objectContaining({ subscription: { id: 'SUB-1', token: TOKEN, customerId: null, amount: 1990, currency: 'EUR', rule: 'RRULE:FREQ=MONTHLY;BYMONTHDAY=1', effectDate: '2027-01-01', initialAmount: null, initialAmountCount: null, orderId: 'SUB-ORDER-1' } }),
      }),
    ]);
    expect(await orders()).toEqual([]);
  });

  it('an installment is a payment of its subscription, never of an order; a back-office resend is a duplicate', async () => {
    const paid = await installment(3, 'CAPTURED');
    expect(paid.text).toBe('OK-applied: subscription SUB-1 installment 3: CAPTURED');
    expect((await installment(3, 'CAPTURED', { resend: true })).text).toBe('OK-duplicate: subscription SUB-1 installment 3 already CAPTURED');
    expect((await installment(3, 'REFUSED')).text).toBe('OK-ignored, stale: subscription SUB-1 installment 3: REFUSED is stale after CAPTURED');
    expect((await installment(4, 'REFUSED')).text).toBe('OK-applied: subscription SUB-1 installment 4: REFUSED');
    expect(await orders()).toEqual([]);
    const announced = await events('subscription');
    expect(announced.map((e) => [e.type, e.payload.installment.number, e.payload.installment.statusRaw])).toEqual([
      ['subscription.payment_succeeded', 3, 'CAPTURED'],
      ['subscription.payment_failed', 4, 'REFUSED'],
    ]);
    expect(announced[0]?.payload).toMatchObject({ subscription: { id: 'SUB-1', token: TOKEN }, installment: { amount: 1990, currency: 'EUR' } });
  });

  it('an installment authorised, then captured, is announced as paid once', async () => {
    await installment(5, 'AUTHORISED');
    expect((await installment(5, 'CAPTURED')).text).toBe('OK-applied: subscription SUB-1 installment 5: CAPTURED');
    expect((await events('subscription')).map((e) => e.type)).toEqual(['subscription.payment_succeeded']);
  });

  it('the audit API lists tokens and subscriptions with their installments', async () => {
    await register({ pageAction: 'REGISTER', withoutTransaction: true }, '');
    await sendForm(t.app, { orderId: 'SUB-ORDER-1', status: 'ACCEPTED', amount: 1990, wallet: { pageAction: 'REGISTER_SUBSCRIBE', token: TOKEN, subscription: 'SUB-1', withoutTransaction: true } });
    await installment(2, 'CAPTURED');
    const methods = await audit('/payment-methods?customerId=C-42');
    expect(methods.status).toBe(200);
    expect(methods.body.data).toEqual([expect.objectContaining({ provider: 'lyra', shopId: HMAC_SHOP.shopId, mode: 'TEST', token: TOKEN, customerId: 'C-42', status: 'CREATED', card: { brand: 'CB', last4: '0055', expiryMonth: 6, expiryYear: expect.any(Number) } })]);
    const subscription = await audit('/subscriptions/SUB-1');
    expect(subscription.status).toBe(200);
    expect(subscription.body.data).toEqual([
      expect.objectContaining({ subscriptionId: 'SUB-1', token: TOKEN, status: 'CREATED', amount: 1990, currency: 'EUR', installments: [expect.objectContaining({ number: 2, status: 'captured', statusRaw: 'CAPTURED', amount: 1990 })] }),
    ]);
    expect((await audit('/subscriptions/SUB-404')).status).toBe(404);
    expect((await audit('/payment-methods?color=blue')).status).toBe(400);
  });
});
