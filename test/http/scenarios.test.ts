import { createTestApp, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { formBody, postLyra, sendForm, sendRest } from '../helpers/lyra';
import { HMAC_SHOP } from '../helpers/app';
import { encodeForm, lyraRestAnswer, lyraRestFields } from '../../src/tools/lyra-notifications';

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  t = createTestApp(database);
});
afterAll(() => database.close());
beforeEach(() => database.reset());

async function order(orderId: string) {
  return database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
}

async function events(orderId: string) {
  const rows = await database.db.selectFrom('outbox').select(['type', 'payload', 'aggregateid', 'aggregatetype']).where('aggregateid', 'like', `%:${orderId}`).orderBy('seq').execute();
  return rows;
}

async function eventTypes(orderId: string) {
  return (await events(orderId)).map((e) => e.type);
}

async function notificationCount(orderId: string) {
  const rows = await database.db.selectFrom('notifications').select('outcome').where('order_id', '=', orderId).execute();
  return rows.length;
}

describe('decision scenarios (form notifications)', () => {
  it('refused then authorised attempts: the order ends PAID', async () => {
    expect((await sendForm(t.app, { orderId: 'A-1', status: 'REFUSED', sequenceNumber: 1 })).text).toBe('OK-applied: order A-1: REFUSED, order FAILED');
    expect((await sendForm(t.app, { orderId: 'A-1', status: 'AUTHORISED', sequenceNumber: 2 })).text).toBe('OK-applied: order A-1: AUTHORISED, order PAID');
    expect((await order('A-1')).status).toBe('PAID');
    expect(await eventTypes('A-1')).toEqual(['payment.attempt_failed', 'order.failed', 'order.paid']);
  });

  it('authorised then a late refusal of another attempt: stays PAID', async () => {
    await sendForm(t.app, { orderId: 'A-2', status: 'AUTHORISED', sequenceNumber: 2 });
    const res = await sendForm(t.app, { orderId: 'A-2', status: 'REFUSED', sequenceNumber: 1 });
    expect(res.text).toBe('OK-applied: order A-2: REFUSED, order stays PAID');
    expect((await order('A-2')).status).toBe('PAID');
    expect(await eventTypes('A-2')).toEqual(['order.paid', 'payment.attempt_failed']);
  });

  it('authorised then a late refusal of the same transaction: stale', async () => {
    await sendForm(t.app, { orderId: 'A-3', status: 'AUTHORISED' });
    expect((await sendForm(t.app, { orderId: 'A-3', status: 'REFUSED' })).text).toContain('OK-ignored, stale');
    expect((await order('A-3')).status).toBe('PAID');
  });

  it('authorised → captured: applied, order stays PAID, no new order event', async () => {
    await sendForm(t.app, { orderId: 'A-4', status: 'AUTHORISED' });
    expect((await sendForm(t.app, { orderId: 'A-4', status: 'CAPTURED', source: 'BATCH' })).text).toBe('OK-applied: order A-4: CAPTURED, order stays PAID');
    expect(await eventTypes('A-4')).toEqual(['order.paid']);
    const tx = await database.db.selectFrom('transactions').select(['status', 'status_raw']).executeTakeFirstOrThrow();
    expect(tx).toEqual({ status: 'captured', status_raw: 'CAPTURED' });
  });

  it('captured then a late authorised: stale, nothing changes', async () => {
    await sendForm(t.app, { orderId: 'A-5', status: 'CAPTURED' });
    const res = await sendForm(t.app, { orderId: 'A-5', status: 'AUTHORISED' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-ignored, stale: order A-5: AUTHORISED is stale after CAPTURED');
    const tx = await database.db.selectFrom('transactions').select('status_raw').executeTakeFirstOrThrow();
    expect(tx.status_raw).toBe('CAPTURED');
    expect(await eventTypes('A-5')).toEqual(['order.paid']);
  });

  it('merchant cancel of an authorised payment: CANCELLED', async () => {
    await sendForm(t.app, { orderId: 'A-6', status: 'AUTHORISED' });
    expect((await sendForm(t.app, { orderId: 'A-6', status: 'CANCELLED', source: 'MERCH_BO' })).text).toBe('OK-applied: order A-6: CANCELLED, order CANCELLED');
    expect(await eventTypes('A-6')).toEqual(['order.paid', 'order.cancelled']);
  });

  it('full refund (CREDIT): REFUNDED; a partial refund first keeps it PAID', async () => {
    await sendForm(t.app, { orderId: 'A-7', status: 'CAPTURED', amount: 5000 });
    await sendForm(t.app, { orderId: 'A-7', status: 'CAPTURED', operation: 'CREDIT', amount: 2000, transactionUuid: 'f'.repeat(31) + '1', source: 'MERCH_BO' });
    expect(await order('A-7')).toMatchObject({ status: 'PAID', refunded_amount: 2000, paid_amount: 5000 });
    await sendForm(t.app, { orderId: 'A-7', status: 'CAPTURED', operation: 'CREDIT', amount: 3000, transactionUuid: 'f'.repeat(31) + '2', source: 'MERCH_BO' });
    expect(await order('A-7')).toMatchObject({ status: 'REFUNDED', refunded_amount: 5000 });
    expect(await eventTypes('A-7')).toEqual(['order.paid', 'order.partially_refunded', 'order.refunded']);
  });

  it('abandoned without a transaction: CANCELLED; its resend is a duplicate', async () => {
    const first = await sendForm(t.app, { orderId: 'A-8', status: 'ABANDONED', transactionUuid: null });
    expect(first.text).toBe('OK-applied: order A-8: order CANCELLED');
    expect((await sendForm(t.app, { orderId: 'A-8', status: 'ABANDONED', transactionUuid: null, resend: true })).text).toContain('OK-duplicate');
    expect(await eventTypes('A-8')).toEqual(['order.cancelled']);
    expect(await database.db.selectFrom('transactions').selectAll().execute()).toEqual([]);
  });

  it('abandoned, then the buyer pays: PAID', async () => {
    await sendForm(t.app, { orderId: 'A-9', status: 'ABANDONED', transactionUuid: null });
    await sendForm(t.app, { orderId: 'A-9', status: 'AUTHORISED' });
    expect((await order('A-9')).status).toBe('PAID');
  });

  it('unknown status: recorded and answered, order unchanged, no event', async () => {
    await sendForm(t.app, { orderId: 'A-10', status: 'AUTHORISED' });
    const res = await sendForm(t.app, { orderId: 'A-10', status: 'SOMETHING_NEW', sequenceNumber: 2 });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-recorded, not applied: order A-10: unknown status SOMETHING_NEW, order unchanged');
    expect((await order('A-10')).status).toBe('PAID');
    expect(await eventTypes('A-10')).toEqual(['order.paid']);
    expect(await notificationCount('A-10')).toBe(2);
  });

  it('installments: the first decides the order, later ones are installment events', async () => {
    const config = 'MULTI:first=2000;count=3;period=30';
    await sendForm(t.app, { orderId: 'A-11', status: 'CAPTURED', paymentConfig: config, sequenceNumber: 1, amount: 2000 });
    await sendForm(t.app, { orderId: 'A-11', status: 'AUTHORISED', paymentConfig: config, sequenceNumber: 2, amount: 1500, source: 'BATCH_AUTO' });
    await sendForm(t.app, { orderId: 'A-11', status: 'REFUSED', paymentConfig: config, sequenceNumber: 3, amount: 1500, source: 'BATCH_AUTO' });
    expect(await order('A-11')).toMatchObject({ status: 'PAID', paid_amount: 2000 });
    expect(await eventTypes('A-11')).toEqual(['order.paid', 'payment.installment', 'payment.installment']);
    const installment = (await events('A-11'))[2]?.payload as { transaction: { statusRaw: string; sequenceNumber: number } };
    expect(installment.transaction).toMatchObject({ statusRaw: 'REFUSED', sequenceNumber: 3 });
  });

  it('back-office resend (BO, new vads_hash, missing fields) of the same status: one notification', async () => {
    await sendForm(t.app, { orderId: 'A-12', status: 'AUTHORISED' });
    const resend = await sendForm(t.app, { orderId: 'A-12', status: 'AUTHORISED', resend: true });
    expect(resend.text).toBe('OK-duplicate: order A-12: already received');
    expect(await notificationCount('A-12')).toBe(1);
    expect(await eventTypes('A-12')).toEqual(['order.paid']);
    const links = await database.db.selectFrom('delivery_notifications').select(['outcome']).orderBy('delivery_id').execute();
    expect(links.map((l) => l.outcome)).toEqual(['applied', 'duplicate']);
  });

  it('back-office resend with a changed status is a new notification', async () => {
    await sendForm(t.app, { orderId: 'A-13', status: 'AUTHORISED' });
    expect((await sendForm(t.app, { orderId: 'A-13', status: 'CAPTURED', resend: true })).text).toContain('OK-applied');
    expect(await notificationCount('A-13')).toBe(2);
  });

  it('a TEST notification never touches the PRODUCTION order of the same id', async () => {
    await sendForm(t.app, { orderId: 'A-14', status: 'REFUSED', mode: 'PRODUCTION' });
    await sendForm(t.app, { orderId: 'A-14', status: 'AUTHORISED', mode: 'TEST' });
    const orders = await database.db.selectFrom('orders').select(['mode', 'status']).where('order_id', '=', 'A-14').orderBy('mode').execute();
    expect(orders).toEqual([{ mode: 'PRODUCTION', status: 'FAILED' }, { mode: 'TEST', status: 'PAID' }]);
  });

  it('the outbox row carries Debezium columns and the normalized event', async () => {
    await sendForm(t.app, { orderId: 'A-15', status: 'AUTHORISED', amount: 1234 });
    const [event] = await events('A-15');
    expect(event).toMatchObject({ aggregatetype: 'order', aggregateid: 'lyra:12345678:TEST:A-15', type: 'order.paid' });
    expect(event?.payload).toMatchObject({
      type: 'order.paid',
      order: { provider: 'lyra', shopId: '12345678', mode: 'TEST', orderId: 'A-15', status: 'PAID', previousStatus: 'PENDING', paidAmount: 1234, currency: 'EUR' },
    });
  });

  it('20 concurrent identical deliveries: one notification, one outbox row, all answered 200', async () => {
    const body = formBody({ orderId: 'A-16', status: 'AUTHORISED' });
    const replies = await Promise.all(Array.from({ length: 20 }, () => postLyra(t.app, body)));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(replies.filter((r) => r.text.startsWith('OK-applied')).length).toBe(1);
    expect(replies.filter((r) => r.text.startsWith('OK-duplicate')).length).toBe(19);
    expect(await notificationCount('A-16')).toBe(1);
    expect(await eventTypes('A-16')).toEqual(['order.paid']);
    const deliveries = await database.db.selectFrom('deliveries').select('id').execute();
    expect(deliveries.length).toBe(20);
  });

  it('concurrent different notifications of one order are serialized on the order', async () => {
    const bodies = [1, 2, 3, 4, 5].map((sequenceNumber) => formBody({ orderId: 'A-17', status: sequenceNumber === 3 ? 'AUTHORISED' : 'REFUSED', sequenceNumber }));
    await Promise.all(bodies.map((b) => postLyra(t.app, b)));
    expect((await order('A-17')).status).toBe('PAID');
    const types = await eventTypes('A-17');
    expect(types.filter((e) => e === 'order.paid').length).toBe(1);
    expect(types.filter((e) => e === 'payment.attempt_failed').length).toBe(4);
  });
});

describe('decision scenarios (REST notifications)', () => {
  it('an OPEN-cycle refusal leaves the order open; a later payment pays it', async () => {
    expect((await sendRest(t.app, { orderId: 'R-1', status: 'REFUSED', orderCycle: 'OPEN', sequenceNumber: 1 })).text).toBe('OK-applied: order R-1: REFUSED, order stays PENDING');
    expect(await eventTypes('R-1')).toEqual(['payment.attempt_failed']);
    expect((await sendRest(t.app, { orderId: 'R-1', status: 'AUTHORISED', sequenceNumber: 2 })).text).toBe('OK-applied: order R-1: AUTHORISED, order PAID');
    expect(await eventTypes('R-1')).toEqual(['payment.attempt_failed', 'order.paid']);
  });

  it('PAID then a late refusal: stays PAID', async () => {
    await sendRest(t.app, { orderId: 'R-2', status: 'AUTHORISED', sequenceNumber: 2 });
    await sendRest(t.app, { orderId: 'R-2', status: 'REFUSED', sequenceNumber: 1 });
    expect((await order('R-2')).status).toBe('PAID');
  });

  it('a CLOSED-cycle refusal fails the order', async () => {
    await sendRest(t.app, { orderId: 'R-3', status: 'REFUSED', orderCycle: 'CLOSED' });
    expect((await order('R-3')).status).toBe('FAILED');
  });

  it('form then REST for the same transaction and status: one notification', async () => {
    expect((await sendForm(t.app, { orderId: 'R-4', status: 'AUTHORISED' })).text).toContain('OK-applied');
    expect((await sendRest(t.app, { orderId: 'R-4', status: 'AUTHORISED' })).text).toBe('OK-duplicate: order R-4: already received');
    expect(await notificationCount('R-4')).toBe(1);
  });

  it('every element of transactions[] is a notification; the older V3.1/IPNRequest type is accepted', async () => {
    const refused = lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'R-6', status: 'REFUSED', sequenceNumber: 1 });
    const paid = lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'R-6', status: 'AUTHORISED', sequenceNumber: 2 });
    const answer = { ...paid, transactions: [...(refused.transactions as unknown[]), ...(paid.transactions as unknown[])] };
    const fields = { ...lyraRestFields(JSON.stringify(answer), HMAC_SHOP.testPassword), 'kr-answer-type': 'V3.1/IPNRequest' };
    const res = await postLyra(t.app, encodeForm(fields));
    expect(res.text).toBe('OK-applied: order R-6: AUTHORISED, order PAID');
    expect(await notificationCount('R-6')).toBe(2);
    // One order event for where the delivery leaves the order, not one per intermediate state.
    expect(await eventTypes('R-6')).toEqual(['payment.attempt_failed', 'order.paid']);
    const again = await postLyra(t.app, encodeForm(fields));
    expect(again.text).toBe('OK-duplicate: order R-6: already received');
  });

  it('REST ABANDONED with no transaction cancels the order', async () => {
    expect((await sendRest(t.app, { orderId: 'R-5', status: 'ABANDONED', transactionUuid: null })).text).toBe('OK-applied: order R-5: order CANCELLED');
  });
});
