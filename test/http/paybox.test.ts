import request from 'supertest';
import { payboxMessage } from '../../src/tools/paybox-notifications';
import { AUDIT_TOKEN, createTestApp, recordedCalls, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { getPaybox, PAYBOX_ENV, PAYBOX_IP, postPaybox, SITE_QUERY } from '../helpers/paybox';

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  t = createTestApp(database, { ...PAYBOX_ENV, AUDIT_API_TOKEN: AUDIT_TOKEN });
});
afterAll(() => database.close());
beforeEach(() => database.reset());

const order = (orderId: string) => database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
const events = async (orderId: string) =>
  (await database.db.selectFrom('outbox').select(['type', 'payload']).where('aggregateid', 'like', `%:${orderId}`).orderBy('seq').execute()).map((e) => ({ type: e.type, payload: e.payload as Record<string, unknown> }));
const deliveries = () => recordedCalls(t, database);
const notifications = (orderId: string) => database.db.selectFrom('notifications').selectAll().where('order_id', '=', orderId).orderBy('id').execute();

describe('Paybox IPN over HTTP', () => {
  it('a paid IPN by GET: 200 with an empty page, the order PAID, the call stored as received', async () => {
    const res = await getPaybox(t.app, { orderId: 'PB-1', amount: 2500, call: '1001' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(await order('PB-1')).toMatchObject({ provider: 'paybox', shop_id: '1999888-32', mode: 'TEST', status: 'PAID', paid_amount: 2500, currency: 'EUR' });
    expect((await events('PB-1')).map((e) => e.type)).toEqual(['order.paid']);
    const [call] = await deliveries();
    expect(call).toMatchObject({ provider: 'paybox', verdict: 'applied', http_status: 200, reply: 'OK-applied: order PB-1: 00000, order PAID', source_ip: PAYBOX_IP });
    expect(Buffer.from(call?.raw_body ?? []).length).toBe(0);
    expect(call?.raw_query).toBe(payboxMessage({ prefix: SITE_QUERY, orderId: 'PB-1', amount: 2500, call: '1001' }));
  });

  it('the same IPN by POST, with or without a form Content-Type; another type is 415', async () => {
    expect((await postPaybox(t.app, { orderId: 'PB-2', call: '2001' })).status).toBe(200);
    expect((await postPaybox(t.app, { orderId: 'PB-3', call: '3001' }, null)).status).toBe(200);
    const wrongType = await postPaybox(t.app, { orderId: 'PB-4', call: '4001' }, 'application/json');
    expect(wrongType.status).toBe(415);
    expect((await order('PB-2')).status).toBe('PAID');
    expect((await order('PB-3')).status).toBe('PAID');
  });

  it('refused, refused, then accepted attempts: the order stays PENDING, then PAID; a later refusal does not unpay it', async () => {
    expect((await getPaybox(t.app, { orderId: 'PB-5', error: '00151', call: '5001', transaction: '0' })).status).toBe(200);
    expect((await order('PB-5')).status).toBe('PENDING');
    expect((await getPaybox(t.app, { orderId: 'PB-5', error: '00004', call: '5002', transaction: '0' })).status).toBe(200);
    expect((await getPaybox(t.app, { orderId: 'PB-5', error: '00000', call: '5003' })).status).toBe(200);
    expect((await order('PB-5')).status).toBe('PAID');
    expect((await getPaybox(t.app, { orderId: 'PB-5', error: '00151', call: '5004', transaction: '0' })).status).toBe(200);
    expect((await order('PB-5')).status).toBe('PAID');
    expect((await events('PB-5')).map((e) => e.type)).toEqual(['payment.attempt_failed', 'payment.attempt_failed', 'order.paid', 'payment.attempt_failed']);
    expect((await notifications('PB-5')).map((n) => [n.transaction_id, n.status])).toEqual([
      ['call-5001', 'refused'],
      ['call-5002', 'refused'],
      ['70005003', 'authorised'],
      ['call-5004', 'refused'],
    ]);
  });

  it('a repeated IPN is a duplicate: one notification, one event', async () => {
    const query = payboxMessage({ prefix: SITE_QUERY, orderId: 'PB-6', call: '6001' });
    expect((await getPaybox(t.app, query)).status).toBe(200);
    const again = await getPaybox(t.app, query);
    expect(again.status).toBe(200);
    expect(again.text).toBe('');
    expect((await notifications('PB-6')).length).toBe(1);
    expect((await events('PB-6')).length).toBe(1);
    expect((await deliveries()).map((d) => d.verdict)).toEqual(['applied', 'duplicate']);
  });

  it('an attempt for another amount than the order is flagged in the audit and the event', async () => {
    await getPaybox(t.app, { orderId: 'PB-7', error: '00151', amount: 5000, call: '7001', transaction: '0' });
    await getPaybox(t.app, { orderId: 'PB-7', error: '00000', amount: 50, call: '7002' });
    const [, paid] = await notifications('PB-7');
    expect(paid?.outcome_detail).toBe("00000, order PAID, amount 50 differs from the order's 5000");
    const paidEvent = (await events('PB-7')).find((e) => e.type === 'order.paid');
    expect(paidEvent?.payload.amountMismatch).toEqual({ expected: 5000, received: 50 });
  });

  it('tampering, re-encoding and a bad signature are 401 with a short reason; nothing is applied', async () => {
    const query = payboxMessage({ prefix: SITE_QUERY, orderId: 'PB 8', call: '8001' });
    const tampered = await getPaybox(t.app, query.replace('Mt=4990', 'Mt=1'));
    expect(tampered.status).toBe(401);
    expect(tampered.text).toBe('KO-authentication failed: signature does not verify with the Paybox public key(s)');
    expect((await getPaybox(t.app, query.replace('PB%208', 'PB+8'))).status).toBe(401);
    expect((await getPaybox(t.app, query)).status).toBe(200);
    expect((await database.db.selectFrom('notifications').select('id').execute()).length).toBe(1);
  });

  it('the second site: selected by its URL parameter, its own PBX_RETOUR and currency', async () => {
    const query = payboxMessage({ prefix: 'site=1999888-43', retour: 'Mt:M;Ref:R;Erreur:E;Appel:T;Sign:K', orderId: 'PB-9', amount: 700, call: '9001' });
    expect((await getPaybox(t.app, query)).status).toBe(200);
    expect(await order('PB-9')).toMatchObject({ shop_id: '1999888-43', status: 'PAID', currency: 'USD' });
    const unknownSite = await getPaybox(t.app, query.replace('site=1999888-43', 'site=1-1'));
    expect(unknownSite.status).toBe(401);
    expect(unknownSite.text).toBe('KO-authentication failed: unknown Paybox site 1-1');
  });

  it('a disallowed address is 403 and its query string is not kept', async () => {
    const res = await getPaybox(t.app, { orderId: 'PB-10' }, '203.0.113.7');
    expect(res.status).toBe(403);
    const [call] = await deliveries();
    expect(call).toMatchObject({ verdict: 'forbidden_source', raw_body: null, raw_query: null });
  });

  it('other methods are 405 naming GET and POST', async () => {
    const res = await request(t.app).put('/ipn/paybox').set('X-Forwarded-For', PAYBOX_IP);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST');
  });

  it('a stored GET call replays from its query string: a duplicate, nothing applied twice', async () => {
    await getPaybox(t.app, { orderId: 'PB-11', call: '11001' });
    const [call] = await deliveries();
    const replay = await request(t.app).post(`/api/v1/deliveries/${call?.id}/replay`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ verdict: 'duplicate', httpStatus: 200 });
    const shown = await request(t.app).get(`/api/v1/deliveries/${call?.id}`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);
    expect(shown.body.raw.fields).toMatchObject({ site: '1999888-32', Ref: 'PB-11', Erreur: '00000' });
    expect((await events('PB-11')).length).toBe(1);
  });
});
