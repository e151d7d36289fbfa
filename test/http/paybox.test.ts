import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    // Kept for Paybox Direct, which is asked by the transaction and call numbers.
    expect((await notifications('PB-1')).map((n) => n.call_number)).toEqual(['1001']);
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

describe('Paybox IPN with the minimal PBX_RETOUR (M, R, A, E and K: no S nor T)', () => {
  const MINIMAL = 'Mt:M;Ref:R;Auto:A;Erreur:E;Sign:K';
  // A real IPN signed by the Paybox platform under that PBX_RETOUR (test/fixtures/README.md).
  const fixtures = join(__dirname, '../fixtures');
  const real = (JSON.parse(readFileSync(join(fixtures, 'vectors.json'), 'utf8')) as { paybox_real: { raw: string }[] }).paybox_real[0]?.raw as string;
  let minimal: TestApp;

  beforeAll(() => {
    minimal = createTestApp(database, {
      PAYBOX_SITES: JSON.stringify([{ site: '1999888', rang: '32', retour: MINIMAL, mode: 'TEST' }]),
      // The platform's key for the real IPN, the simulator's for the attempts this test signs.
      PAYBOX_PUBLIC_KEYS: [join(fixtures, 'paybox_platform_pubkey.pem'), join(__dirname, '../../keys/paybox/simulator-public.pem')].join(','),
    });
  });

  it('a real platform-signed success is applied; its repeat is a duplicate; a later refusal does not unpay it', async () => {
    expect(real).toContain('Ref=CMD1349338388&Auto=XXXXXX&Erreur=00000');
    const paid = await getPaybox(minimal.app, real);
    expect(paid.status).toBe(200);
    expect(await order('CMD1349338388')).toMatchObject({ status: 'PAID', paid_amount: 1000 });
    expect((await getPaybox(minimal.app, real)).status).toBe(200);
    const refused = payboxMessage({ retour: MINIMAL, orderId: 'CMD1349338388', amount: 1000, error: '00105' });
    expect((await getPaybox(minimal.app, refused)).status).toBe(200);
    expect((await getPaybox(minimal.app, refused)).status).toBe(200);
    expect((await order('CMD1349338388')).status).toBe('PAID');
    expect((await recordedCalls(minimal, database)).map((d) => d.reply)).toEqual([
      'OK-applied: order CMD1349338388: 00000, order PAID',
      'OK-duplicate: order CMD1349338388: already received',
      'OK-applied: order CMD1349338388: 00105, order stays PAID',
      'OK-duplicate: order CMD1349338388: already received',
    ]);
    expect((await notifications('CMD1349338388')).map((n) => [n.transaction_id, n.status])).toEqual([
      ['auth-XXXXXX', 'authorised'],
      ['error-00105', 'refused'],
    ]);
    expect((await events('CMD1349338388')).map((e) => e.type)).toEqual(['order.paid', 'payment.attempt_failed']);
  });

  it('refused attempts before the success leave the order PENDING, then the success pays it', async () => {
    const attempt = (error: string) => getPaybox(minimal.app, payboxMessage({ retour: MINIMAL, orderId: 'MIN-2', amount: 300, error }));
    expect((await attempt('00151')).status).toBe(200);
    expect((await attempt('00004')).status).toBe(200);
    expect((await order('MIN-2')).status).toBe('PENDING');
    expect((await attempt('00000')).status).toBe(200);
    expect((await order('MIN-2')).status).toBe('PAID');
  });

  it('a PBX_RETOUR that returns neither S, T nor A is refused at start-up, saying what to add', () => {
    expect(() => createTestApp(database, { PAYBOX_SITES: JSON.stringify([{ site: '1999888', rang: '32', retour: 'Mt:M;Ref:R;Erreur:E;Sign:K' }]) })).toThrow(
      /PAYBOX_SITES.*add Trans:S;Appel:T before K.*Auto:A/,
    );
  });
});
