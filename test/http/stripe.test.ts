import request from 'supertest';
import { sql } from 'kysely';
import { stripeEventBody, stripeSignatureHeader } from '../../src/tools/stripe-notifications';
import { AUDIT_TOKEN, createTestApp, recordedCalls, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { postStripe, STRIPE_ENV, STRIPE_OLD_SECRET, STRIPE_SECRET } from '../helpers/stripe';

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  t = createTestApp(database, { ...STRIPE_ENV, AUDIT_API_TOKEN: AUDIT_TOKEN });
});
afterAll(() => database.close());
beforeEach(() => database.reset());

const order = (orderId: string) => database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
const eventTypes = async (orderId: string) => (await database.db.selectFrom('outbox').select('type').where('aggregateid', 'like', `%:${orderId}`).orderBy('seq').execute()).map((e) => e.type);
const deliveries = () => recordedCalls(t, database);

describe('Stripe webhooks over HTTP', () => {
  it('payment_intent.succeeded pays the order named in its metadata', async () => {
    const res = await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-1', paymentIntent: 'pi_S1', amount: 1999, currency: 'eur' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-applied: order S-1: payment_intent.succeeded, order PAID');
    expect(await order('S-1')).toMatchObject({ provider: 'stripe', shop_id: 'acct_test', mode: 'TEST', status: 'PAID', paid_amount: 1999, currency: 'EUR' });
    expect(await eventTypes('S-1')).toEqual(['order.paid']);
  });

  it('a redelivered event is a duplicate: dedup by event id', async () => {
    const body = stripeEventBody({ type: 'payment_intent.succeeded', id: 'evt_dup_1', orderId: 'S-2', paymentIntent: 'pi_S2' });
    expect((await postStripe(t.app, body)).status).toBe(200);
    const again = await postStripe(t.app, body);
    expect(again.status).toBe(200);
    expect(again.text).toBe('OK-duplicate: order S-2: already received');
    expect(await eventTypes('S-2')).toEqual(['order.paid']);
  });

  it('Orchestration: a failed attempt, then the same PaymentIntent succeeds on another processor', async () => {
    const failed = await postStripe(t.app, { type: 'payment_intent.payment_failed', orderId: 'S-3', paymentIntent: 'pi_S3', charge: 'ch_main_1' });
    expect(failed.text).toBe('OK-applied: order S-3: payment_intent.payment_failed, order stays PENDING');
    expect((await order('S-3')).status).toBe('PENDING');
    const succeeded = await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-3', paymentIntent: 'pi_S3', charge: 'ch_retry_2' });
    expect(succeeded.text).toBe('OK-applied: order S-3: payment_intent.succeeded, order PAID');
    expect(await eventTypes('S-3')).toEqual(['payment.attempt_failed', 'order.paid']);
  });

  it('out of order: the success first, then the earlier attempt failure, which never un-pays', async () => {
    await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-4', paymentIntent: 'pi_S4' });
    await postStripe(t.app, { type: 'payment_intent.payment_failed', orderId: 'S-4', paymentIntent: 'pi_S4', charge: 'ch_main_1' });
    expect((await order('S-4')).status).toBe('PAID');
    expect(await eventTypes('S-4')).toEqual(['order.paid', 'payment.attempt_failed']);
  });

  it('refunds name only their payment: partial, then the rest, the order REFUNDED', async () => {
    await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-5', paymentIntent: 'pi_S5', amount: 5000 });
    const partial = await postStripe(t.app, { type: 'refund.created', paymentIntent: 'pi_S5', refund: 're_1', amount: 2000 });
    expect(partial.text).toBe('OK-applied: order S-5: refund.created, order stays PAID');
    await postStripe(t.app, { type: 'refund.created', paymentIntent: 'pi_S5', refund: 're_2', amount: 3000 });
    expect(await order('S-5')).toMatchObject({ status: 'REFUNDED', refunded_amount: 5000 });
    expect(await eventTypes('S-5')).toEqual(['order.paid', 'order.partially_refunded', 'order.refunded']);
  });

  it('a refund that fails after it succeeded is no longer counted: the order is PAID again', async () => {
    await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-15', paymentIntent: 'pi_S15', amount: 800 });
    await postStripe(t.app, { type: 'refund.created', paymentIntent: 'pi_S15', refund: 're_15', amount: 800 });
    expect((await order('S-15')).status).toBe('REFUNDED');
    const failed = await postStripe(t.app, { type: 'refund.failed', paymentIntent: 'pi_S15', refund: 're_15', amount: 800, refundStatus: 'failed' });
    expect(failed.text).toBe('OK-applied: order S-15: refund.failed, order PAID');
    expect(await order('S-15')).toMatchObject({ status: 'PAID', refunded_amount: 0 });
    expect(await eventTypes('S-15')).toEqual(['order.paid', 'order.refunded', 'order.paid']);
  });

  it('Connect: each connected account is a shop of its own, even with the same order id', async () => {
    await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-16', paymentIntent: 'pi_S16a', account: 'acct_1ConnectedA' });
    await postStripe(t.app, { type: 'payment_intent.payment_failed', orderId: 'S-16', paymentIntent: 'pi_S16b', charge: 'ch_b', account: 'acct_1ConnectedB' });
    const orders = await database.db.selectFrom('orders').select(['shop_id', 'status']).where('order_id', '=', 'S-16').orderBy('shop_id').execute();
    expect(orders).toEqual([
      { shop_id: 'acct_1ConnectedA', status: 'PAID' },
      { shop_id: 'acct_1ConnectedB', status: 'PENDING' },
    ]);
  });

  it('a large event (an invoice with its lines) fits under STRIPE_BODY_LIMIT_BYTES, not the form limit', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => ({ id: `il_${i}`, description: 'x'.repeat(400), amount: 10 }));
    const big = await postStripe(t.app, { type: 'invoice.paid', object: { id: 'in_1', object: 'invoice', lines: { data: lines } } });
    expect(big.status).toBe(200);
    expect(big.text).toBe('OK-recorded, not applied: event type invoice.paid does not change an order');
    const tooBig = await postStripe(t.app, { type: 'invoice.paid', object: { id: 'in_2', object: 'invoice', blob: 'x'.repeat(1024 * 1024) } });
    expect(tooBig.status).toBe(413);
  });

  it('a refund before its payment is 503 and recorded; once the payment is in, the retry applies it', async () => {
    const refund = stripeEventBody({ type: 'refund.created', paymentIntent: 'pi_S6', refund: 're_6', amount: 100 });
    const early = await postStripe(t.app, refund);
    expect(early.status).toBe(503);
    expect(early.text).toBe('KO-temporarily unavailable, not recorded, retry later: the order of payment pi_S6 is not known yet');
    await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-6', paymentIntent: 'pi_S6', amount: 100 });
    expect((await postStripe(t.app, refund)).status).toBe(200);
    expect((await order('S-6')).status).toBe('REFUNDED');
    expect((await deliveries()).map((d) => d.http_status)).toEqual([503, 200, 200]);
  });

  it('charge.refunded with its refunds listed gives one refund each; without them it is recorded only', async () => {
    await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-7', paymentIntent: 'pi_S7', amount: 900 });
    const charge = { id: 'ch_7', object: 'charge', amount: 900, amount_refunded: 900, currency: 'eur', payment_intent: 'pi_S7', refunds: { object: 'list', data: [{ id: 're_7a', amount: 400, status: 'succeeded' }, { id: 're_7b', amount: 500, status: 'succeeded' }] } };
    expect((await postStripe(t.app, { type: 'charge.refunded', object: charge })).status).toBe(200);
    expect(await order('S-7')).toMatchObject({ status: 'REFUNDED', refunded_amount: 900 });
    const bare = await postStripe(t.app, { type: 'charge.refunded', object: { ...charge, refunds: undefined } });
    expect(bare.status).toBe(200);
    expect(bare.text).toBe('OK-recorded, not applied: charge.refunded without its refunds listed: subscribe to refund.* events');
  });

  it('checkout.session.completed pays the order of client_reference_id; an expired session cancels an unpaid order', async () => {
    expect((await postStripe(t.app, { type: 'checkout.session.completed', orderId: 'S-8', paymentIntent: 'pi_S8', amount: 700 })).status).toBe(200);
    expect((await order('S-8')).status).toBe('PAID');
    expect((await postStripe(t.app, { type: 'checkout.session.expired', orderId: 'S-9', paymentStatus: 'unpaid' })).status).toBe(200);
    expect((await order('S-9')).status).toBe('CANCELLED');
  });

  it('an event about no order is answered 200 and recorded, never refused', async () => {
    const res = await postStripe(t.app, { type: 'customer.created', object: { id: 'cus_1', object: 'customer' } });
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-recorded, not applied: event type customer.created does not change an order');
    expect((await deliveries()).map((d) => d.verdict)).toEqual(['unknown_status']);
  });

  it('signed with the previous secret during a roll: accepted', async () => {
    expect((await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-10', paymentIntent: 'pi_S10' }, { secrets: [STRIPE_OLD_SECRET] })).status).toBe(200);
  });

  it('stale, future, tampered, unsigned, wrong type: refused with the reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    const event = { type: 'payment_intent.succeeded', orderId: 'S-11', paymentIntent: 'pi_S11' };
    expect((await postStripe(t.app, event, { timestamp: now - 400 })).text).toMatch(/^KO-authentication failed: timestamp is (40\d|399) s old, tolerance 300 s$/);
    expect((await postStripe(t.app, event, { timestamp: now + 400 })).text).toMatch(/^KO-authentication failed: timestamp is (39\d|400) s in the future, tolerance 300 s$/);
    expect((await postStripe(t.app, event, { header: null })).text).toBe('KO-authentication failed: Stripe-Signature header missing');
    expect((await postStripe(t.app, event, { secrets: ['whsec_someoneElse123456'] })).status).toBe(401);
    expect((await postStripe(t.app, event, { contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    const missingOrder = await postStripe(t.app, { type: 'payment_intent.succeeded', paymentIntent: 'pi_S12' });
    // Authentic, so recorded and answered 2xx: Stripe would retry a refusal for three days.
    expect(missingOrder.status).toBe(200);
    expect(missingOrder.text).toBe('OK-recorded, not applied: no order id at metadata.order_id or client_reference_id');
    expect(await database.db.selectFrom('orders').select('id').execute()).toEqual([]);
  });

  it('replays of an event about no order, and of a refund still without its payment, are recorded like the calls', async () => {
    await postStripe(t.app, { type: 'customer.created', object: { id: 'cus_2', object: 'customer' } });
    await postStripe(t.app, { type: 'refund.created', paymentIntent: 'pi_S14', refund: 're_14', amount: 100 });
    const [ignored, early] = await deliveries();
    const replay = (id: number | undefined) => request(t.app).post(`/api/v1/deliveries/${id}/replay`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);
    expect((await replay(ignored?.id)).body).toMatchObject({ verdict: 'unknown_status', httpStatus: 200, reply: 'OK-recorded, not applied: event type customer.created does not change an order' });
    expect((await replay(early?.id)).body).toMatchObject({ verdict: 'unavailable', httpStatus: 503 });
    await postStripe(t.app, { type: 'payment_intent.succeeded', orderId: 'S-14', paymentIntent: 'pi_S14', amount: 100 });
    expect((await replay(early?.id)).body).toMatchObject({ verdict: 'applied', httpStatus: 200, orderId: 'S-14', orderStatus: 'REFUNDED' });
  });

  it('a stored call replays later, its signature judged by the time it was received', async () => {
    const twoDaysAgo = Math.floor(Date.now() / 1000) - 2 * 86_400;
    const body = stripeEventBody({ type: 'payment_intent.succeeded', orderId: 'S-13', paymentIntent: 'pi_S13', created: twoDaysAgo });
    const header = stripeSignatureHeader(body, [STRIPE_SECRET], twoDaysAgo);
    // A call received two days ago that could not be applied then (the database was away).
    const stored = async (receivedAt: string) => {
      const { rows } = await sql<{ id: number }>`INSERT INTO deliveries (received_at, provider, origin, source_ip, content_type, raw_body, signature_header, verdict, http_status, reply)
        VALUES (${receivedAt}::timestamptz, 'stripe', 'http', '127.0.0.1', 'application/json', ${Buffer.from(body)}, ${header}, 'unavailable', 503, 'KO-temporarily unavailable')
        RETURNING id`.execute(database.db);
      return (rows[0] as { id: number }).id;
    };
    const replay = (id: number) => request(t.app).post(`/api/v1/deliveries/${id}/replay`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);
    const onTime = await replay(await stored(new Date(twoDaysAgo * 1000 + 5000).toISOString()));
    expect(onTime.body).toMatchObject({ verdict: 'applied', httpStatus: 200 });
    // The same bytes claimed as received now: two days stale.
    const late = await replay(await stored(new Date().toISOString()));
    expect(late.body).toMatchObject({ verdict: 'bad_signature', httpStatus: 401 });
    expect((await order('S-13')).status).toBe('PAID');
  });
});
