import { Registry } from 'prom-client';
import request from 'supertest';
import { registerPaylineFetchGauges } from '../../src/metrics';
import { queueStats } from '../../src/store/outbox';
import { paylineReceiver } from '../../src/outbound/payline';
import { runPaylineFetches } from '../../src/outbound/payline-fetcher';
import { createOrderChecker } from '../../src/ingest/reconcile';
import { startFakePayline, type FakePayline, type FakeResult } from '../../src/tools/fake-payline';
import { AUDIT_TOKEN, createTestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
let fake: FakePayline;

beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakePayline();
});
afterAll(async () => {
  await fake.close();
  await database.close();
});
beforeEach(async () => {
  await database.reset();
  fake.calls.length = 0;
  fake.results.clear();
  fake.directoryUp = true;
  fake.endpoints = [
    { name: 'a', behaviour: 'answer' },
    { name: 'b', behaviour: 'answer' },
  ];
});

const CONTRACT = '1234567';
const paid = (orderRef: string, transactionId: string, amount = 1500): FakeResult => ({ code: '00000', shortMessage: 'ACCEPTED', transactionId, amount, currency: '978', action: '101', orderRef, contractNumber: CONTRACT });

/** A fresh app: each has its own endpoint directory cache, as a fresh process would. */
function app(overrides: Record<string, string> = {}) {
  const merchant = { merchantId: 'm1', accessKey: 'access-key-1', environment: 'homologation', directoryUrl: fake.directoryUrl('m1'), defaultUrl: fake.endpointUrl('a'), contracts: [CONTRACT], ...overrides };
  return createTestApp(database, { PAYLINE_MERCHANTS: JSON.stringify([merchant]), PAYLINE_CONNECT_TIMEOUT_MS: '500' }).app;
}
const notify = (target: ReturnType<typeof app>, query: string) => request(target).get(`/ipn/payline?${query}`);
const deliveries = () => database.db.selectFrom('deliveries').selectAll().orderBy('id').execute();
const fetches = () => database.db.selectFrom('payline_fetches').select(['trigger_key', 'state', 'attempts']).orderBy('id').execute();
const OPTIONS = { pollMs: 1000, attemptTimeoutMs: 2000, policy: { maxAttempts: 5, backoffBaseMs: 60_000, backoffMaxMs: 3_600_000 } };

/** The worker's view of the merchant of `app()`, as `main.ts` builds it. */
function receiver() {
  const merchant = { merchantId: 'm1', accessKey: 'access-key-1', environment: 'homologation' as const, directoryUrl: fake.directoryUrl('m1'), defaultUrl: fake.endpointUrl('a'), contracts: [CONTRACT] };
  return paylineReceiver([merchant], 500, 2000);
}
const order = (orderId: string) => database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();

describe('Payline notifications over HTTP', () => {
  it('fetches the result from the first endpoint, authenticated, and applies it', async () => {
    fake.results.set('TOKEN1', paid('PL-1', 'TX1'));
    const res = await notify(app(), 'notificationType=webtrs&token=TOKEN1');
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-applied: order PL-1: 00000, order PAID');
    expect(await order('PL-1')).toMatchObject({ provider: 'payline', shop_id: 'm1', mode: 'TEST', status: 'PAID', paid_amount: 1500, currency: 'EUR' });
    expect(fake.calls.map((c) => [c.endpoint, c.method, c.key])).toEqual([['a', 'getWebPaymentDetails', 'TOKEN1']]);
    expect(fake.calls[0]?.headers.authorization).toBe(`Basic ${Buffer.from('m1:access-key-1').toString('base64')}`);
    expect(fake.calls[0]?.headers['x-failover-cause']).toBeUndefined();
    expect((await deliveries())[0]?.fetched_from).toBe(`answered: ${fake.endpointUrl('a')}WebPaymentAPI`);
  });

  it('HTTP 503 on the first endpoint: the same request goes to the second, with the failover headers', async () => {
    fake.endpoints[0] = { name: 'a', behaviour: 'http503' };
    fake.results.set('TOKEN2', paid('PL-2', 'TX2'));
    expect((await notify(app(), 'notificationType=WEBTRS&token=TOKEN2')).status).toBe(200);
    expect(fake.calls.map((c) => c.endpoint)).toEqual(['a', 'b']);
    expect(fake.calls[1]?.headers).toMatchObject({ 'x-failover-cause': 'HTTP_503', 'x-failover-origin': `${fake.endpointUrl('a')}WebPaymentAPI`, 'x-failover-index': '1' });
    expect(Number(fake.calls[1]?.headers['x-failover-duration'])).toBeGreaterThanOrEqual(0);
    expect((await deliveries())[0]?.fetched_from).toBe(`failed: ${fake.endpointUrl('a')}WebPaymentAPI (HTTP_503); answered: ${fake.endpointUrl('b')}WebPaymentAPI`);
  });

  it('connection refused on the first endpoint, or its internal error 02101: the second answers', async () => {
    fake.endpoints[0] = { name: 'a', behaviour: 'closed' };
    fake.results.set('TOKEN3', paid('PL-3', 'TX3'));
    expect((await notify(app(), 'notificationType=WEBTRS&token=TOKEN3')).status).toBe(200);
    expect(fake.calls.map((c) => [c.endpoint, c.headers['x-failover-cause']])).toEqual([['b', 'TIMEOUT']]);

    fake.calls.length = 0;
    fake.endpoints[0] = { name: 'a', behaviour: 'internal-error' };
    fake.results.set('TOKEN3B', paid('PL-3B', 'TX3B'));
    expect((await notify(app(), 'notificationType=WEBTRS&token=TOKEN3B')).status).toBe(200);
    expect(fake.calls.map((c) => [c.endpoint, c.headers['x-failover-cause'] ?? null])).toEqual([
      ['a', null],
      ['b', 'APP_02101'],
    ]);
  });

  it('a business refusal is an answer: no failover, the refusal applied', async () => {
    fake.results.set('TOKEN4', { code: '01100', shortMessage: 'REFUSED', transactionId: 'TX4', amount: 900, currency: '978', action: '101', orderRef: 'PL-4', contractNumber: CONTRACT });
    const res = await notify(app(), 'notificationType=WEBTRS&token=TOKEN4');
    expect(res.text).toBe('OK-applied: order PL-4: 01100, order FAILED');
    expect(fake.calls.map((c) => c.endpoint)).toEqual(['a']);
  });

  it('the directory unreachable: the default endpoint is used', async () => {
    fake.results.set('TOKEN5', paid('PL-5', 'TX5'));
    const res = await notify(app({ directoryUrl: 'http://127.0.0.1:9/services/servicesendpoints/SOAP/m1', defaultUrl: fake.endpointUrl('b') }), 'notificationType=WEBTRS&token=TOKEN5');
    expect(res.status).toBe(200);
    expect(fake.calls.map((c) => c.endpoint)).toEqual(['b']);
  });

  it('every endpoint down: recorded with a durable fetch and answered 2xx; the fetch applies it once Payline answers', async () => {
    fake.endpoints = [
      { name: 'a', behaviour: 'http503' },
      { name: 'b', behaviour: 'closed' },
    ];
    fake.results.set('TOKEN6', paid('PL-6', 'TX6'));
    const target = app();
    const down = await notify(target, 'notificationType=WEBTRS&token=TOKEN6');
    expect(down.status).toBe(200);
    expect(down.text).toMatch(/^OK-recorded, result to be fetched: every Payline endpoint failed: /);
    expect(await database.db.selectFrom('notifications').select('id').execute()).toEqual([]);
    // Payline repeats it a minute later (say it did not take the 2xx): still one fetch to run.
    expect((await notify(target, 'notificationType=WEBTRS&token=TOKEN6')).status).toBe(200);
    expect(await fetches()).toEqual([{ trigger_key: 'WEBTRS:TOKEN6', state: 'pending', attempts: 0 }]);

    fake.endpoints[0] = { name: 'a', behaviour: 'answer' };
    expect(await runPaylineFetches(database, receiver(), OPTIONS)).toBe(1);
    expect(await order('PL-6')).toMatchObject({ status: 'PAID', paid_amount: 1500 });
    expect(await fetches()).toEqual([{ trigger_key: 'WEBTRS:TOKEN6', state: 'done', attempts: 1 }]);
    expect((await deliveries()).map((d) => [d.origin, d.verdict])).toEqual([
      ['http', 'deferred'],
      ['http', 'deferred'],
      ['fetch', 'applied'],
    ]);
    expect((await deliveries())[2]?.fetched_from).toBe(`answered: ${fake.endpointUrl('a')}WebPaymentAPI`);
    // Nothing is due any more; a late notification is a duplicate.
    expect(await runPaylineFetches(database, receiver(), OPTIONS)).toBe(0);
    expect((await notify(target, 'notificationType=WEBTRS&token=TOKEN6')).text).toBe('OK-duplicate: order PL-6: already received');
  });

  it('a deferred fetch retries with backoff while Payline is down, and is given up with its reason', async () => {
    fake.endpoints = [{ name: 'a', behaviour: 'http503' }];
    await notify(app(), 'notificationType=WEBTRS&token=TOKEN10');
    expect(await runPaylineFetches(database, receiver(), OPTIONS)).toBe(0);
    const [retry] = await database.db.selectFrom('payline_fetches').select(['state', 'attempts', 'next_attempt_at', 'last_error']).execute();
    expect(retry).toMatchObject({ state: 'pending', attempts: 1 });
    expect(retry?.last_error).toMatch(/^every Payline endpoint failed/);
    // The policy's first backoff: between half and all of a minute.
    expect(retry?.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 29_000);
    await database.db.updateTable('payline_fetches').set({ next_attempt_at: new Date(0) }).execute();
    expect(await runPaylineFetches(database, receiver(), { ...OPTIONS, policy: { ...OPTIONS.policy, maxAttempts: 2 } })).toBe(1);
    expect(await fetches()).toEqual([{ trigger_key: 'WEBTRS:TOKEN10', state: 'dead', attempts: 2 }]);
    expect((await deliveries()).map((d) => [d.origin, d.verdict, d.http_status])).toEqual([
      ['http', 'deferred', 200],
      ['fetch', 'unavailable', 503],
    ]);
  });

  it('pending and given-up fetches show in the metrics, for alerting', async () => {
    fake.endpoints = [{ name: 'a', behaviour: 'http503' }];
    await notify(app(), 'notificationType=WEBTRS&token=TOKEN11');
    const registry = new Registry();
    registerPaylineFetchGauges(registry, () => queueStats(database.db, 'payline_fetches'));
    const text = await registry.metrics();
    expect(text).toContain('payline_fetches_pending 1');
    expect(text).toContain('payline_fetches_dead 0');
    expect(text).toMatch(/payline_fetches_oldest_pending_age_seconds \d/);
  });

  it('an endpoint that never answers: the in-request fetch stops at 60% of the deadline and the call is deferred, 2xx in time', async () => {
    fake.endpoints[0] = { name: 'a', behaviour: 'hang' };
    fake.results.set('TOKEN9', paid('PL-9', 'TX9'));
    const merchant = { merchantId: 'm1', accessKey: 'k', environment: 'homologation', directoryUrl: fake.directoryUrl('m1'), defaultUrl: fake.endpointUrl('a') };
    const target = createTestApp(database, { PAYLINE_MERCHANTS: JSON.stringify([merchant]), IPN_DEADLINE_MS: '800' }).app;
    const started = Date.now();
    const res = await notify(target, 'notificationType=WEBTRS&token=TOKEN9');
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-recorded, result to be fetched: deadline reached while calling Payline');
    expect(Date.now() - started).toBeLessThan(800);
    expect(await fetches()).toEqual([{ trigger_key: 'WEBTRS:TOKEN9', state: 'pending', attempts: 0 }]);
  });

  it('several tokens for one order: a refused attempt, then a paid one, then the paid one again', async () => {
    const target = app();
    fake.results.set('T7A', { code: '01100', shortMessage: 'REFUSED', transactionId: 'TX7A', amount: 700, currency: '978', action: '101', orderRef: 'PL-7', contractNumber: CONTRACT });
    fake.results.set('T7B', paid('PL-7', 'TX7B', 700));
    // A TRS notification for the same transaction, fetched with getTransactionDetails.
    fake.results.set('TX7B', paid('PL-7', 'TX7B', 700));
    await notify(target, 'notificationType=WEBTRS&token=T7A');
    await notify(target, 'notificationType=WEBTRS&token=T7B');
    expect((await notify(target, 'notificationType=TRS&transactionId=TX7B')).text).toBe('OK-duplicate: order PL-7: already received');
    expect((await order('PL-7')).status).toBe('PAID');
    expect(fake.calls.at(-1)).toMatchObject({ method: 'getTransactionDetails', key: 'TX7B' });
  });

  it('refuses what Payline does not vouch for, and records other notification types without applying them', async () => {
    const target = app();
    expect((await notify(target, 'notificationType=WEBTRS&token=UNKNOWN')).text).toBe('KO-malformed notification: Payline has no order for this token (02305 INVALID)');
    expect((await notify(target, 'token=T8')).text).toBe('KO-malformed notification: notificationType is missing');
    const wallet = await notify(target, 'notificationType=WALLET&walletId=W1');
    expect(wallet.text).toBe('OK-recorded, not applied: notification type WALLET does not change an order');
    expect(await database.db.selectFrom('orders').select('id').execute()).toEqual([]);
  });

  it('a result under a contract the configuration does not list: recorded, 200, counted, and applied by a replay once contracts is fixed', async () => {
    const merchant = (contracts: string[]) => JSON.stringify([{ merchantId: 'm1', accessKey: 'access-key-1', environment: 'homologation', directoryUrl: fake.directoryUrl('m1'), defaultUrl: fake.endpointUrl('a'), contracts }]);
    const env = (contracts: string[]) => ({ PAYLINE_MERCHANTS: merchant(contracts), PAYLINE_CONNECT_TIMEOUT_MS: '500', AUDIT_API_TOKEN: AUDIT_TOKEN });
    fake.results.set('T8', { ...paid('PL-8', 'TX8'), contractNumber: '7654321' });
    const before = createTestApp(database, env([CONTRACT]));
    const res = await request(before.app).get('/ipn/payline?notificationType=WEBTRS&token=T8');
    expect(res.status).toBe(200);
    expect(res.text).toBe('OK-recorded, not applied: contract 7654321 is not configured for merchant m1');
    expect(await database.db.selectFrom('orders').select('id').execute()).toEqual([]);
    expect(await before.metrics.registry.getSingleMetricAsString('ipn_not_applied_total')).toContain('ipn_not_applied_total{provider="payline",kind="unconfigured"} 1');
    const [call] = await deliveries();
    expect(call).toMatchObject({ verdict: 'unknown_status', http_status: 200, reason: 'contract 7654321 is not configured for merchant m1' });

    const after = createTestApp(database, env([CONTRACT, '7654321']));
    const replay = await request(after.app).post(`/api/v1/deliveries/${call?.id}/replay`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);
    expect(replay.body).toMatchObject({ verdict: 'applied', httpStatus: 200 });
    expect((await order('PL-8')).status).toBe('PAID');
  });
});

describe('Payline triggers cannot be used as an amplifier', () => {
  const fetchesOf = (key: string) => fake.calls.filter((c) => c.key === key).length;
  const from = (target: ReturnType<typeof app>, query: string, address: string) => request(target).get(`/ipn/payline?${query}`).set('X-Forwarded-For', address);

  it('concurrent copies of one trigger make one fetch; a final result is answered again without one', async () => {
    fake.results.set('AMP1', paid('PL-A1', 'TXA1'));
    const target = app();
    const replies = await Promise.all(Array.from({ length: 10 }, () => notify(target, 'notificationType=WEBTRS&token=AMP1')));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(fetchesOf('AMP1')).toBe(1);
    expect((await notify(target, 'notificationType=WEBTRS&token=AMP1')).text).toBe('OK-duplicate: order PL-A1: already received');
    expect(fetchesOf('AMP1')).toBe(1);
    expect((await order('PL-A1')).status).toBe('PAID');
  });

  it('a pending result is fetched again; an unknown token is answered from the first answer', async () => {
    fake.results.set('AMP2', { ...paid('PL-A2', 'TXA2'), code: '02306', shortMessage: 'INPROGRESS' });
    const target = app();
    await notify(target, 'notificationType=WEBTRS&token=AMP2');
    fake.results.set('AMP2', paid('PL-A2', 'TXA2'));
    expect((await notify(target, 'notificationType=WEBTRS&token=AMP2')).text).toBe('OK-applied: order PL-A2: 00000, order PAID');
    expect(fetchesOf('AMP2')).toBe(2);
    for (let i = 0; i < 3; i++) expect((await notify(target, 'notificationType=WEBTRS&token=FORGED1')).status).toBe(400);
    expect(fetchesOf('FORGED1')).toBe(1);
  });

  it('each address has a budget of fetches per minute: past it the trigger is answered 503, counted, and fetches nothing', async () => {
    const merchant = { merchantId: 'm1', accessKey: 'access-key-1', environment: 'homologation', directoryUrl: fake.directoryUrl('m1'), defaultUrl: fake.endpointUrl('a') };
    const t = createTestApp(database, { PAYLINE_MERCHANTS: JSON.stringify([merchant]), PAYLINE_CONNECT_TIMEOUT_MS: '500', PAYLINE_FETCHES_PER_SOURCE: '3' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await from(t.app, `notificationType=WEBTRS&token=FORGE${i}`, '203.0.113.60')).status);
    expect(statuses).toEqual([400, 400, 400, 503, 503]);
    const refused = await from(t.app, 'notificationType=WEBTRS&token=FORGE9', '203.0.113.60');
    expect(refused.text).toBe('KO-temporarily unavailable, not recorded, retry later: too many Payline fetches for this address this minute; retry later');
    expect(fake.calls.filter((c) => c.key.startsWith('FORGE')).length).toBe(3);
    expect(await t.metrics.registry.getSingleMetricAsString('payline_fetches_refused_total')).toContain('payline_fetches_refused_total 3');
    // Another address is not held back by the forger's.
    fake.results.set('AMP3', paid('PL-A3', 'TXA3'));
    expect((await from(t.app, 'notificationType=WEBTRS&token=AMP3', '203.0.113.61')).status).toBe(200);
    expect(await database.db.selectFrom('payline_fetches').select('id').execute()).toEqual([]);
  });
});

describe('reconciliation of a Payline order', () => {
  it('asks getWebPaymentDetails again by the token of its notification: a payment in progress gets its result', async () => {
    fake.results.set('RECON1', { ...paid('PL-R1', 'TXR1'), code: '02306', shortMessage: 'INPROGRESS' });
    await notify(app(), 'notificationType=webtrs&token=RECON1').expect(200);
    expect((await order('PL-R1')).status).toBe('PENDING');
    fake.results.set('RECON1', paid('PL-R1', 'TXR1'));
    const checkers = createOrderChecker({ database, payboxOperations: undefined, lyraShops: undefined, payline: receiver() });
    const identity = { provider: 'payline', shopId: 'm1', mode: 'TEST', orderId: 'PL-R1' };
    expect(await checkers.check(identity, 'pending_order')).toMatchObject({ outcome: 'changed', changes: 1 });
    expect((await order('PL-R1')).status).toBe('PAID');
    expect(await checkers.check(identity, 'pending_order')).toMatchObject({ outcome: 'unchanged' });
    const calls = await database.db.selectFrom('deliveries').select(['origin', 'verdict']).where('origin', '=', 'reconcile').execute();
    expect(calls.map((c) => c.verdict)).toEqual(['applied', 'duplicate']);
    fake.endpoints = [
      { name: 'a', behaviour: 'http503' },
      { name: 'b', behaviour: 'http503' },
    ];
    expect((await checkers.check(identity, 'pending_order')).outcome).toBe('unavailable');
    expect(await checkers.check({ ...identity, orderId: 'PL-NEVER' }, 'expected_payment')).toMatchObject({ outcome: 'not_checkable', detail: expect.stringMatching(/asked by the token it carries/) as string });
    await checkers.close();
  });
});
