import { createOrderChecker, type OrderCheckers } from '../../src/ingest/reconcile';
import { createMetrics, type Metrics } from '../../src/metrics';
import { stripeEventBody } from '../../src/tools/stripe-notifications';
import { startFakeStripeApi, type FakeStripeApi } from '../../src/tools/fake-stripe-api';
import { createTestApp, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { postStripe, STRIPE_SECRET } from '../helpers/stripe';

const KEY = 'rk_test_reconcile0123456789';
const HOUR = 3600;

let database: TestDatabase;
let stripe: FakeStripeApi;
let t: TestApp;
let checkers: OrderCheckers;
let metrics: Metrics;

beforeAll(async () => {
  database = await openTestDatabase();
  stripe = await startFakeStripeApi([KEY]);
  t = createTestApp(database, { STRIPE_ENDPOINTS: JSON.stringify([{ id: 'acct_test', secrets: [STRIPE_SECRET], apiKey: KEY }]), STRIPE_API_URL: stripe.url });
});
afterAll(async () => {
  await t.close();
  await stripe.close();
  await database.close();
});
beforeEach(async () => {
  await database.reset();
  stripe.events.length = 0;
  stripe.requests.length = 0;
  stripe.behaviour = 'answer';
  metrics = createMetrics();
  checkers = createOrderChecker({ database, payboxOperations: undefined, lyraShops: undefined, stripe: t.config.stripe, afterS: 1800, metrics });
});
afterEach(() => checkers.close());

const now = () => Math.floor(Date.now() / 1000);
/** An event Stripe holds, created `ago` seconds ago, delivered to the endpoint or not. */
function stripeHas(ago: number, delivered: boolean, options: Parameters<typeof stripeEventBody>[0]) {
  const json = stripeEventBody({ created: now() - ago, ...options });
  const id = (JSON.parse(json) as { id: string }).id;
  stripe.events.push({ json, id, created: now() - ago, delivered });
  return { json, id };
}
const sweep = () => Promise.all(checkers.sweeps.map((s) => s()));
const orderStatus = async (orderId: string) => (await database.db.selectFrom('orders').select('status').where('order_id', '=', orderId).executeTakeFirst())?.status;
const checks = () => database.db.selectFrom('reconcile_checks').select(['order_id', 'why', 'state', 'outcome', 'changes']).orderBy('id').execute();

describe('the events Stripe could not deliver, read from its Events API', () => {
  it('applies them in created order, leaves the young ones to Stripe, and a later delivery is a duplicate', async () => {
    const failed = stripeHas(3 * HOUR, false, { type: 'payment_intent.payment_failed', orderId: 'STR-1', paymentIntent: 'pi_1', charge: 'ch_1' });
    const paid = stripeHas(2 * HOUR, false, { type: 'payment_intent.succeeded', orderId: 'STR-1', paymentIntent: 'pi_1' });
    stripeHas(10 * 60, false, { type: 'payment_intent.succeeded', orderId: 'STR-YOUNG', paymentIntent: 'pi_2' });
    stripeHas(2 * HOUR, true, { type: 'payment_intent.succeeded', orderId: 'STR-DELIVERED', paymentIntent: 'pi_3' });
    await sweep();
    expect(await orderStatus('STR-1')).toBe('PAID');
    expect(await orderStatus('STR-YOUNG')).toBeUndefined();
    expect(await orderStatus('STR-DELIVERED')).toBeUndefined();
    expect(await checks()).toEqual([
      { order_id: 'STR-1', why: 'undelivered_event', state: 'done', outcome: 'changed', changes: 1 },
      { order_id: 'STR-1', why: 'undelivered_event', state: 'done', outcome: 'changed', changes: 1 },
    ]);
    const calls = await database.db.selectFrom('deliveries').select(['origin', 'fetched_from']).execute();
    expect(calls).toEqual([
      { origin: 'reconcile', fetched_from: `${stripe.url}/v1/events` },
      { origin: 'reconcile', fetched_from: `${stripe.url}/v1/events` },
    ]);
    expect(await metrics.registry.metrics()).toContain('reconcile_changes_total{provider="stripe"} 2');
    // Stripe's own retry finally gets through: the same event id, nothing applied twice.
    expect((await postStripe(t.app, paid.json)).text).toMatch(/^OK-duplicate/);
    expect((await database.db.selectFrom('outbox').select('type').orderBy('seq').execute()).map((e) => e.type)).toEqual(['payment.attempt_failed', 'order.paid']);
    expect(failed.id).not.toBe(paid.id);

    // The next sweep reads on from where this one stopped: nothing twice.
    stripe.requests.length = 0;
    await sweep();
    expect((await checks()).length).toBe(2);
    const cursor = await database.db.selectFrom('reconcile_cursors').select(['swept_until', 'claimed_until']).executeTakeFirstOrThrow();
    expect(Math.abs(cursor.swept_until.getTime() / 1000 - (now() - 1800))).toBeLessThan(60);
    expect(cursor.claimed_until).toBeNull();
    for (const query of stripe.requests) expect(Number(new URLSearchParams(query).get('created[gte]'))).toBeGreaterThanOrEqual(Math.floor(cursor.swept_until.getTime() / 1000) - 1);
  });

  it('reads a long list page by page', async () => {
    for (let i = 0; i < 130; i++) stripeHas(2 * HOUR + i, false, { type: 'payment_intent.succeeded', orderId: `STR-P${i}`, paymentIntent: `pi_p${i}` });
    await sweep();
    expect(await database.db.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 130 });
    expect(stripe.requests.filter((q) => q.includes('starting_after')).length).toBeGreaterThan(0);
  });

  it('Stripe down: recorded, the cursor stays, the next sweep reads the same window', async () => {
    stripeHas(2 * HOUR, false, { type: 'payment_intent.succeeded', orderId: 'STR-DOWN', paymentIntent: 'pi_d' });
    stripe.behaviour = 'http503';
    await sweep();
    expect(await checks()).toEqual([{ order_id: '', why: 'undelivered_events', state: 'done', outcome: 'unavailable', changes: 0 }]);
    stripe.behaviour = 'answer';
    await sweep();
    expect(await orderStatus('STR-DOWN')).toBe('PAID');
  });

  it('a key Stripe refuses is reported as not checkable', async () => {
    const wrong = createOrderChecker({ database, payboxOperations: undefined, lyraShops: undefined, stripe: { apiUrl: stripe.url, endpoints: [{ id: 'acct_other', secrets: [STRIPE_SECRET], orderIdPaths: [['metadata', 'order_id']], apiKey: 'rk_test_notAKeyStripeKnows' }] } });
    await Promise.all(wrong.sweeps.map((s) => s()));
    await wrong.close();
    const [row] = await database.db.selectFrom('reconcile_checks').select(['shop_id', 'state', 'outcome', 'detail']).execute();
    expect(row).toEqual({ shop_id: 'acct_other', state: 'unchecked', outcome: 'not_checkable', detail: `${stripe.url}/v1/events refused the key (HTTP 401): it must read Events` });
  });
});

describe("a pending Stripe order's PaymentIntent", () => {
  const order = { provider: 'stripe', shopId: 'acct_test', mode: 'TEST', orderId: 'STR-PI' };
  const intent = (status: string) => ({ id: 'pi_pending1', object: 'payment_intent', amount: 4990, amount_received: status === 'succeeded' ? 4990 : 0, currency: 'eur', status, livemode: false, latest_charge: 'ch_9', last_payment_error: null, metadata: { order_id: 'STR-PI' } });

  it('is read again and its status applied once; the webhook that comes later is a duplicate', async () => {
    await postStripe(t.app, { type: 'payment_intent.processing', orderId: 'STR-PI', paymentIntent: 'pi_pending1' }).expect(200);
    expect(await orderStatus('STR-PI')).toBe('PENDING');
    stripe.paymentIntents.set('pi_pending1', intent('processing'));
    expect(await checkers.check(order, 'pending_order')).toMatchObject({ outcome: 'unchanged' });
    stripe.paymentIntents.set('pi_pending1', intent('succeeded'));
    expect(await checkers.check(order, 'pending_order')).toMatchObject({ outcome: 'changed', changes: 1 });
    expect(await orderStatus('STR-PI')).toBe('PAID');
    expect(await checkers.check(order, 'pending_order')).toMatchObject({ outcome: 'unchanged', changes: 0 });
    expect((await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'STR-PI', paymentIntent: 'pi_pending1' })).text).toMatch(/^OK-duplicate/);
    expect((await database.db.selectFrom('outbox').select('type').orderBy('seq').execute()).map((e) => e.type)).toEqual(['order.paid']);
  });

  it('what cannot be asked says why', async () => {
    await postStripe(t.app, { type: 'payment_intent.processing', orderId: 'STR-PI', paymentIntent: 'pi_gone' }).expect(200);
    expect(await checkers.check(order, 'pending_order')).toEqual({ outcome: 'unknown_at_platform', detail: 'Stripe knows no PaymentIntent pi_gone', changes: 0 });
    expect((await checkers.check({ ...order, shopId: 'acct_connected' }, 'pending_order')).detail).toMatch(/is not an endpoint of STRIPE_ENDPOINTS/);
    expect((await checkers.check({ ...order, orderId: 'STR-NONE' }, 'expected_payment')).detail).toMatch(/no PaymentIntent of this order is known here/);
  });
});
