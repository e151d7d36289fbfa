import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import request from 'supertest';
import { createOrderChecker, type OrderCheckers } from '../../src/ingest/reconcile';
import { payboxOperationsFor, type PayboxOperations } from '../../src/ingest/paybox-direct';
import { createMetrics } from '../../src/metrics';
import { RECONCILE_WORKER, resultOf, runReconcileChecks, startReconciler } from '../../src/outbound/reconcile-worker';
import { sweep } from '../../src/store/reconcile';
import { DEFAULT_RETOUR } from '../../src/tools/paybox-notifications';
import { startFakePayboxDirect, type FakePayboxDirect } from '../../src/tools/fake-paybox-direct';
import { fakeLyraOrderKey, startFakeLyraApi, type FakeLyraApi } from '../../src/tools/fake-lyra-api';
import { createTestApp, HMAC_SHOP, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { capturingLogger } from '../helpers/log-capture';
import { sendForm } from '../helpers/lyra';
import { getPaybox, PAYBOX_ENV } from '../helpers/paybox';

const OPERATOR = 'operator-token-0123456789abcdefghijklmnopqrs';
const KEY = 'C0FFEE'.repeat(21) + 'C0';
const SITE = '1999888-32';
const WINDOW = { afterS: 1800, maxAgeS: 7 * 86_400, againAfterS: 300 };

let database: TestDatabase;
let fake: FakePayboxDirect;
let t: TestApp;
let operations: PayboxOperations;
let lyra: FakeLyraApi;
let checkers: OrderCheckers;

beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakePayboxDirect([{ site: '1999888', rang: '32', hmacKeyHex: KEY }]);
  lyra = await startFakeLyraApi([HMAC_SHOP]);
  t = createTestApp(database, {
    ...PAYBOX_ENV,
    LYRA_SHOPS: JSON.stringify([{ ...HMAC_SHOP, apiUrl: lyra.url }]),
    PAYBOX_SITES: JSON.stringify([{ site: '1999888', rang: '32', retour: DEFAULT_RETOUR, mode: 'TEST', directHmacKey: KEY, directUrls: [fake.url('primary'), fake.url('secondary')] }]),
    PAYBOX_DIRECT_TIMEOUT_MS: '1000',
    API_TOKENS: JSON.stringify([{ name: 'ops-1', tokenSha256: createHash('sha256').update(OPERATOR).digest('hex'), scopes: ['read', 'operate'] }]),
  });
  operations = payboxOperationsFor(t.config.paybox, database) as PayboxOperations;
  checkers = createOrderChecker({ database, payboxOperations: operations, lyraShops: t.config.lyra?.shops });
});
afterAll(async () => {
  await checkers.close();
  await lyra.close();
  await operations.close();
  await t.close();
  await fake.close();
  await database.close();
});
beforeEach(async () => {
  await database.reset();
  fake.transactions.clear();
  fake.questions.length = 0;
  fake.behaviour.primary = 'answer';
  fake.behaviour.secondary = 'answer';
  lyra.orders.clear();
  lyra.requests.length = 0;
  lyra.behaviour = 'answer';
});

const api = {
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${OPERATOR}`),
  post: (path: string, body: unknown) => request(t.app).post(`/api/v1${path}`).set('Authorization', `Bearer ${OPERATOR}`).send(body as object),
};

/** Makes every order, transaction and expected payment look `seconds` older, as if the service had waited. */
async function age(seconds: number) {
  const back = sql<Date>`now() - make_interval(secs => ${seconds})`;
  await database.db.updateTable('orders').set({ updated_at: back }).execute();
  await sql`UPDATE orders SET created_at = now() - make_interval(secs => ${seconds})`.execute(database.db);
  await sql`UPDATE expected_payments SET created_at = now() - make_interval(secs => ${seconds})`.execute(database.db);
  await sql`UPDATE transactions SET created_at = now() - make_interval(secs => ${seconds}), updated_at = now() - make_interval(secs => ${seconds})`.execute(database.db);
}

/** A Paybox attempt pending validation (99999): its final IPN is the one that will be lost. */
async function pendingPaybox(orderId: string, transaction: string, call: string, status: 'Capturé' | 'Refusé' = 'Capturé') {
  await getPaybox(t.app, { orderId, error: '99999', transaction, call }).expect(200);
  fake.transactions.set(transaction.padStart(10, '0'), { site: '1999888', rang: '32', callNumber: call.padStart(10, '0'), status, authorised: 4990, captured: status === 'Capturé' ? 4990 : 0, refunded: 0 });
}

const check = () => checkers.check;
const checks = () => database.db.selectFrom('reconcile_checks').select(['order_id', 'why', 'state', 'outcome', 'attempts', 'changes', 'detail']).orderBy('id').execute();
const orderStatus = async (orderId: string) => (await database.db.selectFrom('orders').select('status').where('order_id', '=', orderId).executeTakeFirstOrThrow()).status;

describe('the reconciliation worker', () => {
  it('finds the payment whose final notification never came, once the order waited long enough', async () => {
    await pendingPaybox('REC-LOST', '71622001', '51622001');
    expect(await sweep(database.db, WINDOW)).toBe(0);
    await age(3600);
    expect(await sweep(database.db, WINDOW)).toBe(1);
    expect(await sweep(database.db, WINDOW)).toBe(0);
    const metrics = createMetrics();
    expect(await runReconcileChecks(database, check(), RECONCILE_WORKER, metrics, capturingLogger())).toBe(1);
    expect(await orderStatus('REC-LOST')).toBe('PAID');
    expect(await checks()).toEqual([{ order_id: 'REC-LOST', why: 'pending_order', state: 'done', outcome: 'changed', attempts: 1, changes: 1, detail: expect.stringMatching(/OK-applied/) as string }]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('reconcile_checks_total{provider="paybox",outcome="changed"} 1');
    expect(text).toContain('reconcile_changes_total{provider="paybox"} 1');
    const calls = await database.db.selectFrom('deliveries').select(['origin', 'verdict']).where('origin', '=', 'reconcile').execute();
    expect(calls).toEqual([{ origin: 'reconcile', verdict: 'applied' }]);
    // The IPN that arrives late is a duplicate, never a second application.
    await getPaybox(t.app, { orderId: 'REC-LOST', transaction: '71622001', call: '51622001' }).expect(200);
    expect((await database.db.selectFrom('outbox').select('type').execute()).map((e) => e.type)).toEqual(['order.paid']);
  });

  it('a platform that is down is asked again with backoff, and nothing changes meanwhile', async () => {
    await pendingPaybox('REC-DOWN', '71622002', '51622002');
    await age(3600);
    fake.behaviour.primary = 'http503';
    fake.behaviour.secondary = 'http503';
    await sweep(database.db, WINDOW);
    await runReconcileChecks(database, check(), RECONCILE_WORKER);
    const [row] = await database.db.selectFrom('reconcile_checks').selectAll().execute();
    expect(row).toMatchObject({ state: 'pending', outcome: 'unavailable', attempts: 1 });
    expect((row?.next_attempt_at.getTime() ?? 0) - Date.now()).toBeGreaterThan(20_000);
    expect(await orderStatus('REC-DOWN')).toBe('PENDING');
    // Not due yet: the next pass claims nothing.
    expect(await runReconcileChecks(database, check(), RECONCILE_WORKER)).toBe(0);
    expect(resultOf({ attempts: RECONCILE_WORKER.policy.maxAttempts }, { outcome: 'unavailable', detail: 'down', changes: 0 }, RECONCILE_WORKER.policy).state).toBe('dead');
  });

  it('what cannot be asked is reported with why, and not asked again', async () => {
    await api.post('/expected-payments', { provider: 'paybox', shopId: SITE, orderId: 'REC-EXPECTED', mode: 'TEST', amount: 4990, currency: 'EUR', expiresAt: new Date(Date.now() + 3600_000).toISOString() }).expect(201);
    await age(3600);
    expect(await sweep(database.db, WINDOW)).toBe(1);
    await runReconcileChecks(database, check(), RECONCILE_WORKER);
    const rows = await checks();
    expect(rows.map((r) => [r.order_id, r.why, r.state, r.outcome])).toEqual([['REC-EXPECTED', 'expected_payment', 'unchecked', 'not_checkable']]);
    expect(rows[0]?.detail).toMatch(/a payment cannot be looked up by its reference/);
    expect(fake.questions).toHaveLength(0);
    const listed = await api.get('/reconciliation?outcome=not_checkable');
    expect((listed.body as { data: { orderId: string }[] }).data.map((c) => c.orderId)).toEqual(['REC-EXPECTED']);
    // Asked about again only after a quarter of its age; found not checkable, never again by the sweep.
    expect(await sweep(database.db, WINDOW)).toBe(0);
    await age(2 * 86_400);
    expect(await sweep(database.db, WINDOW)).toBe(0);
    const payline = await check()({ provider: 'payline', shopId: 'demo', mode: 'PRODUCTION', orderId: 'X' }, 'expected_payment');
    expect(payline).toEqual({ outcome: 'not_checkable', detail: 'Payline is not configured (PAYLINE_MERCHANTS)', changes: 0 });
    const stripe = await check()({ provider: 'stripe', shopId: 'acct', mode: 'PRODUCTION', orderId: 'X' }, 'pending_order');
    expect(stripe.detail).toBe('Stripe is not configured (STRIPE_ENDPOINTS)');
  });

  it('Lyra: a lost first notification found through an expected payment, by Order/Get', async () => {
    const expected = { provider: 'lyra', shopId: HMAC_SHOP.shopId, orderId: 'REC-LYRA', mode: 'TEST', amount: 4990, currency: 'EUR', expiresAt: new Date(Date.now() + 3600_000).toISOString() };
    await api.post('/expected-payments', expected).expect(201);
    await api.post('/expected-payments', { ...expected, orderId: 'REC-LYRA-UNPAID' }).expect(201);
    lyra.orders.set(fakeLyraOrderKey(HMAC_SHOP.shopId, 'TEST', 'REC-LYRA'), [
      { uuid: 'a0000000000000000000000000000001', detailedStatus: 'REFUSED', status: 'UNPAID', operationType: 'DEBIT', amount: 4990, currency: 'EUR', sequenceNumber: 1 },
      { uuid: 'a0000000000000000000000000000002', detailedStatus: 'AUTHORISED', status: 'PAID', operationType: 'DEBIT', amount: 4990, currency: 'EUR', sequenceNumber: 2 },
    ]);
    await age(3600);
    expect(await sweep(database.db, WINDOW)).toBe(2);
    await runReconcileChecks(database, check(), RECONCILE_WORKER);
    expect(await orderStatus('REC-LYRA')).toBe('PAID');
    // The sweep's union has no order: compare sorted.
    expect((await checks()).map((r) => [r.order_id, r.state, r.outcome]).sort()).toEqual([
      ['REC-LYRA', 'done', 'changed'],
      ['REC-LYRA-UNPAID', 'done', 'unknown_at_platform'],
    ]);
    const call = await database.db.selectFrom('deliveries').select(['origin', 'verdict', 'fetched_from']).where('provider', '=', 'lyra').executeTakeFirstOrThrow();
    expect(call).toEqual({ origin: 'reconcile', verdict: 'applied', fetched_from: `${lyra.url}/api-payment/V4/Order/Get` });
    // The IPN that finally comes is a duplicate of what the API said.
    expect((await sendForm(t.app, { orderId: 'REC-LYRA', status: 'AUTHORISED', transactionUuid: 'a0000000000000000000000000000002', sequenceNumber: 2 })).text).toMatch(/^OK-duplicate/);
  });

  it('Lyra: a refund made in the back office, found when the order is reconciled now', async () => {
    const debit = 'b0000000000000000000000000000001';
    await sendForm(t.app, { orderId: 'REC-LYRA-BO', status: 'CAPTURED', transactionUuid: debit }).expect(200);
    lyra.orders.set(fakeLyraOrderKey(HMAC_SHOP.shopId, 'TEST', 'REC-LYRA-BO'), [
      { uuid: debit, detailedStatus: 'CAPTURED', status: 'PAID', operationType: 'DEBIT', amount: 4990, currency: 'EUR' },
      { uuid: 'b0000000000000000000000000000002', detailedStatus: 'CAPTURED', status: 'PAID', operationType: 'CREDIT', amount: 4990, currency: 'EUR' },
    ]);
    const now = await api.post(`/orders/REC-LYRA-BO/reconcile?provider=lyra&shopId=${HMAC_SHOP.shopId}`, undefined);
    expect(now.body).toMatchObject({ checked: 1, changed: 1, outcome: 'changed', orderStatus: 'REFUNDED' });
    expect((await api.post(`/orders/REC-LYRA-BO/reconcile?provider=lyra&shopId=${HMAC_SHOP.shopId}&mode=TEST`, undefined)).body).toMatchObject({ changed: 0, outcome: 'unchanged', orderStatus: 'REFUNDED' });
    expect((await database.db.selectFrom('outbox').select('type').orderBy('seq').execute()).map((e) => e.type)).toEqual(['order.paid', 'order.refunded']);
    expect(lyra.requests).toEqual([{ shopId: HMAC_SHOP.shopId, orderId: 'REC-LYRA-BO' }, { shopId: HMAC_SHOP.shopId, orderId: 'REC-LYRA-BO' }]);
  });

  it('an authorisation left unsettled is asked about, once final no more', async () => {
    const uuid = 'c0000000000000000000000000000001';
    await sendForm(t.app, { orderId: 'REC-AUTH', status: 'AUTHORISED', transactionUuid: uuid }).expect(200);
    await sendForm(t.app, { orderId: 'REC-CAPTURED', status: 'CAPTURED' }).expect(200);
    lyra.orders.set(fakeLyraOrderKey(HMAC_SHOP.shopId, 'TEST', 'REC-AUTH'), [{ uuid, detailedStatus: 'CAPTURED', status: 'PAID', operationType: 'DEBIT', amount: 4990, currency: 'EUR' }]);
    await age(3600);
    expect(await sweep(database.db, WINDOW)).toBe(1);
    await runReconcileChecks(database, check(), RECONCILE_WORKER);
    expect((await checks()).map((r) => [r.order_id, r.why, r.outcome])).toEqual([['REC-AUTH', 'unsettled_transaction', 'changed']]);
    const tx = await database.db.selectFrom('transactions').select('status').where('transaction_id', '=', uuid).executeTakeFirstOrThrow();
    expect(tx.status).toBe('captured');
    await age(86_400);
    expect(await sweep(database.db, WINDOW)).toBe(0);
  });

  it('Lyra: more than 30 transactions (PSP_015): those known here are asked one by one', async () => {
    const known = 'd0000000000000000000000000000001';
    await sendForm(t.app, { orderId: 'REC-MANY', status: 'AUTHORISED', transactionUuid: known }).expect(200);
    const others = Array.from({ length: 30 }, (_, i) => ({ uuid: `e${String(i).padStart(31, '0')}`, detailedStatus: 'REFUSED', status: 'UNPAID', operationType: 'DEBIT' as const, amount: 4990, currency: 'EUR' }));
    lyra.orders.set(fakeLyraOrderKey(HMAC_SHOP.shopId, 'TEST', 'REC-MANY'), [...others, { uuid: known, detailedStatus: 'CAPTURED', status: 'PAID', operationType: 'DEBIT', amount: 4990, currency: 'EUR' }]);
    expect(await check()({ provider: 'lyra', shopId: HMAC_SHOP.shopId, mode: 'TEST', orderId: 'REC-MANY' }, 'request')).toMatchObject({ outcome: 'changed', changes: 1 });
    expect(lyra.requests).toEqual([{ shopId: HMAC_SHOP.shopId, orderId: 'REC-MANY' }, { shopId: HMAC_SHOP.shopId, orderId: `uuid:${known}` }]);
    const tx = await database.db.selectFrom('transactions').select('status').where('transaction_id', '=', known).executeTakeFirstOrThrow();
    expect(tx.status).toBe('captured');
  });

  it('Lyra: down, then wrong credentials: retried, then reported', async () => {
    await sendForm(t.app, { orderId: 'REC-LYRA-DOWN', status: 'WAITING_AUTHORISATION' }).expect(200);
    await age(3600);
    lyra.behaviour = 'http503';
    await sweep(database.db, WINDOW);
    await runReconcileChecks(database, check(), RECONCILE_WORKER);
    expect((await checks()).map((r) => [r.state, r.outcome, r.detail])).toEqual([['pending', 'unavailable', `${lyra.url}/api-payment/V4/Order/Get answered HTTP 503`]]);
    const wrong = createOrderChecker({ database, payboxOperations: undefined, lyraShops: new Map([[HMAC_SHOP.shopId, { ...HMAC_SHOP, algorithm: 'HMAC-SHA-256', testPassword: 'not-the-password', apiUrl: lyra.url }]]) });
    lyra.behaviour = 'answer';
    expect(await wrong.check({ provider: 'lyra', shopId: HMAC_SHOP.shopId, mode: 'TEST', orderId: 'REC-LYRA-DOWN' }, 'pending_order')).toMatchObject({ outcome: 'not_checkable', detail: expect.stringMatching(/refused the TEST credentials of shop 12345678 \(HTTP 401\)/) as string });
    await wrong.close();
    expect(await orderStatus('REC-LYRA-DOWN')).toBe('PENDING');
  });

  it('runs on the queues loop: a sweep at start, its checks, then stops', async () => {
    await pendingPaybox('REC-LOOP', '71622003', '51622003');
    await age(3600);
    const worker = await startReconciler(database, checkers, { ...RECONCILE_WORKER, config: { intervalS: 300, afterS: 1800, maxAgeS: 604_800 } }, capturingLogger());
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await orderStatus('REC-LOOP')) !== 'PAID') await new Promise((resolve) => setTimeout(resolve, 50));
    await worker.stop();
    expect(await orderStatus('REC-LOOP')).toBe('PAID');
  });
});

describe('POST /api/v1/expected-payments', () => {
  it('records a payment to expect, once per order, and refuses what is incomplete', async () => {
    const payment = { provider: 'paybox', shopId: SITE, orderId: 'EXP-1', amount: 4990, currency: 'EUR', expiresAt: '2026-12-31T23:00:00+01:00' };
    const first = await api.post('/expected-payments', payment);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ provider: 'paybox', shopId: SITE, orderId: 'EXP-1', mode: 'PRODUCTION', amount: 4990, currency: 'EUR', expiresAt: '2026-12-31T22:00:00.000Z' });
    expect((await api.post('/expected-payments', { ...payment, amount: 5990 })).body).toMatchObject({ id: first.body.id, amount: 5990 });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...payment, provider: 'adyen' }, /provider: must be one of/],
      [{ ...payment, amount: 0 }, /amount: required/],
      [{ ...payment, currency: 'XYZ' }, /currency: required/],
      [{ ...payment, expiresAt: 'tomorrow' }, /expiresAt/],
      [{ ...payment, mode: 'LIVE' }, /mode: must be one of TEST, PRODUCTION/],
      [{ ...payment, note: 'x' }, /note: unknown parameter/],
    ];
    for (const [body, detail] of cases) {
      const response = await api.post('/expected-payments', body);
      expect([response.status, response.body.detail]).toEqual([400, expect.stringMatching(detail)]);
    }
  });
});
