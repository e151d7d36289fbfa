import request from 'supertest';
import { createTestApp, HMAC_SHOP, notAppliedCount, PLATFORM_IP, recordedCalls, SHA1_SHOP, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { capturedLogs } from '../helpers/log-capture';
import { formBody, postLyra, restBody, sendForm } from '../helpers/lyra';
import { encodeForm, lyraFormFields, lyraRestAnswer, lyraRestFields, signLyraForm } from '../../src/tools/lyra-notifications';

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  t = createTestApp(database, { IPN_BODY_LIMIT_BYTES: '4096' });
});
afterAll(() => database.close());
beforeEach(() => database.reset());

function expectReply(res: request.Response, status: number, prefix: 'OK-' | 'KO-') {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(res.text.startsWith(prefix)).toBe(true);
  expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(200);
  expect(res.text).not.toMatch(/[\r\n<]/);
}

const deliveries = () => recordedCalls(t, database);

async function countRows() {
  const [n, o, tx, ob] = await Promise.all(
    (['notifications', 'orders', 'transactions', 'outbox'] as const).map((table) =>
      database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ),
  );
  return { notifications: Number(n?.n), orders: Number(o?.n), transactions: Number(tx?.n), outbox: Number(ob?.n) };
}

describe('reply status codes', () => {
  it('authentic, new, applied: 200 OK-', async () => {
    const res = await sendForm(t.app, { orderId: 'S-1', status: 'AUTHORISED' });
    expectReply(res, 200, 'OK-');
    expect(res.text).toBe('OK-applied: order S-1: AUTHORISED, order PAID');
    expect(await countRows()).toEqual({ notifications: 1, orders: 1, transactions: 1, outbox: 1 });
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ verdict: 'applied', http_status: 200, reply: res.text, source_ip: PLATFORM_IP });
  });

  it('authentic duplicate (automatic RETRY): 200 OK- duplicate, nothing applied twice', async () => {
    await sendForm(t.app, { orderId: 'S-2', status: 'AUTHORISED' });
    const res = await sendForm(t.app, { orderId: 'S-2', status: 'AUTHORISED', source: 'RETRY' });
    expectReply(res, 200, 'OK-');
    expect(res.text).toContain('duplicate');
    expect(await countRows()).toEqual({ notifications: 1, orders: 1, transactions: 1, outbox: 1 });
    expect((await deliveries()).map((d) => d.verdict)).toEqual(['applied', 'duplicate']);
  });

  it('authentic but stale: 200 OK- ignored, with the reason', async () => {
    await sendForm(t.app, { orderId: 'S-3', status: 'CAPTURED' });
    const res = await sendForm(t.app, { orderId: 'S-3', status: 'AUTHORISED' });
    expectReply(res, 200, 'OK-');
    expect(res.text).toBe('OK-ignored, stale: order S-3: AUTHORISED is stale after CAPTURED');
    expect((await countRows()).outbox).toBe(1);
  });

  it('source address not allowed: 403 KO-, body not stored', async () => {
    const res = await request(t.app).post('/ipn/lyra').set('X-Forwarded-For', '203.0.113.9').type('form').send(formBody({ orderId: 'S-4', status: 'AUTHORISED' }));
    expectReply(res, 403, 'KO-');
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ verdict: 'forbidden_source', http_status: 403, raw_body: null, source_ip: '203.0.113.9' });
    expect((await countRows()).notifications).toBe(0);
  });

  it('a forged X-Forwarded-For from an untrusted peer never passes', async () => {
    const strict = createTestApp(database, { TRUST_PROXY: 'false' });
    const res = await request(strict.app).post('/ipn/lyra').set('X-Forwarded-For', PLATFORM_IP).type('form').send(formBody({ orderId: 'S-5', status: 'AUTHORISED' }));
    expectReply(res, 403, 'KO-');
    expect(res.text).toMatch(/127\.0\.0\.1|::ffff:127\.0\.0\.1|::1/);
  });

  it('IPv4-mapped IPv6 addresses are matched against IPv4 ranges', async () => {
    const res = await postLyra(t.app, formBody({ orderId: 'S-6', status: 'AUTHORISED' })).set('X-Forwarded-For', `::ffff:${PLATFORM_IP}`);
    expectReply(res, 200, 'OK-');
  });

  it.each([
    ['wrong signature', () => formBody({ orderId: 'S-7', status: 'AUTHORISED' }).replace(/signature=[^&]+/, 'signature=' + encodeURIComponent('A'.repeat(43) + '=')), 'signature does not match'],
    ['missing signature', () => formBody({ orderId: 'S-7', status: 'AUTHORISED' }).replace(/&?signature=[^&]+/, ''), 'signature missing'],
    ['unknown shop', () => encodeForm(signLyraForm(lyraFormFields({ shopId: '99999999', orderId: 'S-7', status: 'AUTHORISED' }), 'k')), 'unknown shop 99999999'],
    ['wrong key', () => encodeForm(signLyraForm(lyraFormFields({ shopId: HMAC_SHOP.shopId, orderId: 'S-7', status: 'AUTHORISED' }), 'not-the-key')), 'signature does not match'],
    ['test signature sent as production', () => encodeForm(signLyraForm(lyraFormFields({ shopId: HMAC_SHOP.shopId, mode: 'PRODUCTION', orderId: 'S-7', status: 'AUTHORISED' }), HMAC_SHOP.testKey)), 'signature does not match'],
    ['no key for the mode', () => encodeForm(signLyraForm(lyraFormFields({ shopId: SHA1_SHOP.shopId, mode: 'PRODUCTION', orderId: 'S-7', status: 'AUTHORISED' }), 'x', 'SHA-1')), 'no PRODUCTION key configured for shop 87654321'],
    ['unknown mode', () => encodeForm(signLyraForm({ ...lyraFormFields({ shopId: HMAC_SHOP.shopId, orderId: 'S-7', status: 'AUTHORISED' }), vads_ctx_mode: 'DEMO' }, HMAC_SHOP.testKey)), 'vads_ctx_mode must be TEST or PRODUCTION'],
    ['algorithm differs from the shop setting', () => encodeForm(signLyraForm(lyraFormFields({ shopId: SHA1_SHOP.shopId, orderId: 'S-7', status: 'AUTHORISED' }), SHA1_SHOP.testKey, 'HMAC-SHA-256')), 'signature looks like HMAC-SHA-256 but the shop is configured for SHA-1'],
    ['REST: browser-return hash', () => encodeForm({ ...lyraRestFields(JSON.stringify(lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'S-7', status: 'AUTHORISED' })), HMAC_SHOP.testPassword), 'kr-hash-key': 'sha256_hmac' }), 'kr-hash-key sha256_hmac signs a browser return, not a notification'],
    ['REST: wrong password', () => encodeForm(lyraRestFields(JSON.stringify(lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'S-7', status: 'AUTHORISED' })), 'testpassword_wrong')), 'kr-hash does not match'],
    ['REST: tampered answer', () => restBody({ orderId: 'S-7', status: 'REFUSED' }).replace('REFUSED', 'AUTHORISED'), 'kr-hash does not match'],
    ['REST: unsupported algorithm', () => encodeForm({ ...lyraRestFields(JSON.stringify(lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'S-7', status: 'AUTHORISED' })), HMAC_SHOP.testPassword), 'kr-hash-algorithm': 'sha1' }), 'kr-hash-algorithm must be sha256_hmac'],
  ])('%s: 401 KO-', async (_name, body, reason) => {
    const res = await postLyra(t.app, body());
    expectReply(res, 401, 'KO-');
    expect(res.text).toBe(`KO-authentication failed: ${reason}`);
    expect(await countRows()).toEqual({ notifications: 0, orders: 0, transactions: 0, outbox: 0 });
    expect((await deliveries())[0]).toMatchObject({ http_status: 401, reason });
  });

  it.each([
    ['empty body', () => '', 'empty body'],
    ['unknown format', () => 'foo=bar', 'unknown format: neither vads_* nor kr-answer fields'],
    ['browser return (no vads_hash)', () => formBody({ orderId: 'S-8', status: 'AUTHORISED' }).replace(/vads_hash=[^&]+&/, ''), 'vads_hash missing: not a notification (browser return?)'],
    ['repeated field', () => `${formBody({ orderId: 'S-8', status: 'AUTHORISED' })}&vads_amount=1`, 'field vads_amount is repeated'],
    ['invalid UTF-8', () => Buffer.concat([Buffer.from('vads_x='), Buffer.from([0xff, 0xfe])]), 'body is not valid UTF-8'],
    ['REST: invalid JSON', () => encodeForm(lyraRestFields('{"shopId":', HMAC_SHOP.testPassword)), 'kr-answer is not valid JSON'],
    ['REST: kr-answer missing', () => encodeForm({ 'kr-hash': 'ab', 'kr-hash-algorithm': 'sha256_hmac', 'kr-hash-key': 'password' }), 'kr-answer missing'],
  ])('%s: 400 KO-', async (_name, body, reason) => {
    const res = await postLyra(t.app, body());
    expectReply(res, 400, 'KO-');
    expect(res.text).toBe(`KO-malformed notification: ${reason}`);
    expect((await countRows()).notifications).toBe(0);
  });

  // Authentic calls are never refused: what the service cannot read is recorded, answered 2xx
  // (so the platform neither warns nor retries) and replayable once the service reads it.
  it.each([
    ['signed but without an order id', () => encodeForm(signLyraForm({ ...lyraFormFields({ shopId: HMAC_SHOP.shopId, orderId: 'x', status: 'AUTHORISED' }), vads_order_id: '' }, HMAC_SHOP.testKey)), 'vads_order_id is missing'],
    ['signed but without a transaction for a payment', () => encodeForm(signLyraForm(lyraFormFields({ shopId: HMAC_SHOP.shopId, orderId: 'x', status: 'AUTHORISED', transactionUuid: null }), HMAC_SHOP.testKey)), 'vads_trans_uuid is missing'],
    ['signed but a non-numeric amount', () => encodeForm(signLyraForm(lyraFormFields({ shopId: HMAC_SHOP.shopId, orderId: 'x', status: 'AUTHORISED', extraFields: { vads_amount: '12.50' } }), HMAC_SHOP.testKey)), 'vads_amount is not a non-negative integer'],
    ['REST: signed but no order id', () => encodeForm(lyraRestFields(JSON.stringify({ ...lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'x', status: 'AUTHORISED' }), orderDetails: { mode: 'TEST' } }), HMAC_SHOP.testPassword)), 'orderDetails.orderId is missing'],
  ])('%s: 200 OK-recorded, not applied', async (_name, body, reason) => {
    const counted = () => notAppliedCount(t, 'lyra', 'unrecognized');
    const before = await counted();
    const res = await postLyra(t.app, body());
    expectReply(res, 200, 'OK-');
    expect(res.text).toBe(`OK-recorded, not applied: ${reason}`);
    expect(await countRows()).toEqual({ notifications: 0, orders: 0, transactions: 0, outbox: 0 });
    expect((await deliveries())[0]).toMatchObject({ verdict: 'unknown_status', http_status: 200, reason });
    expect(await counted()).toBe(before + 1);
  });

  it('body too large: 413 KO-', async () => {
    const res = await postLyra(t.app, formBody({ orderId: 'S-9', status: 'AUTHORISED', extraFields: { vads_order_info: 'x'.repeat(5000) } }));
    expectReply(res, 413, 'KO-');
    expect((await deliveries())[0]).toMatchObject({ verdict: 'too_large', raw_body: null });
  });

  it.each([
    ['application/json', 'expected application/x-www-form-urlencoded'],
    ['text/plain', 'expected application/x-www-form-urlencoded'],
    ['application/x-www-form-urlencoded; charset=iso-8859-1', 'charset must be UTF-8'],
  ])('content type %s: 415 KO-', async (type, reason) => {
    const res = await postLyra(t.app, formBody({ orderId: 'S-10', status: 'AUTHORISED' }), type);
    expectReply(res, 415, 'KO-');
    expect(res.text).toBe(`KO-unsupported content type: ${reason}`);
  });

  it('accepts an explicit UTF-8 charset', async () => {
    const res = await postLyra(t.app, formBody({ orderId: 'S-11', status: 'AUTHORISED' }), 'application/x-www-form-urlencoded; charset=UTF-8');
    expectReply(res, 200, 'OK-');
  });

  it('the notification URL matches as an Express route does: any case, one trailing slash, any query', async () => {
    for (const [index, path] of ['/ipn/lyra/', '/IPN/Lyra', '/ipn/lyra?from=bo'].entries()) {
      const res = await request(t.app).post(path).set('X-Forwarded-For', PLATFORM_IP).type('form').send(formBody({ orderId: `S-URL-${index}`, status: 'AUTHORISED' }));
      expectReply(res, 200, 'OK-');
      expect(res.text).toContain('applied');
    }
    for (const path of ['/ipn/lyrax', '/ipn/lyra//', '/ipn']) {
      const res = await request(t.app).post(path).set('X-Forwarded-For', PLATFORM_IP).type('form').send(formBody({ orderId: 'S-URL-9', status: 'AUTHORISED' }));
      expect(res.status).toBe(404);
    }
  });

  it('other methods: 405, never a redirect', async () => {
    const res = await request(t.app).get('/ipn/lyra');
    expect(res.status).toBe(405);
    expect(res.text.startsWith('KO-')).toBe(true);
  });

  it('database unavailable: 503 KO-, nothing written', async () => {
    const broken = await openTestDatabase();
    const app = createTestApp(broken);
    await broken.close();
    const res = await sendForm(app.app, { orderId: 'S-12', status: 'AUTHORISED' });
    expectReply(res, 503, 'KO-');
    const ready = await request(app.app).get('/readyz');
    expect(ready.status).toBe(503);
  });

  it('never answers with x-powered-by, and counts calls in /metrics', async () => {
    const res = await sendForm(t.app, { orderId: 'S-13', status: 'AUTHORISED' });
    expect(res.headers['x-powered-by']).toBeUndefined();
    const metrics = await request(t.app).get('/metrics');
    expect(metrics.text).toMatch(/ipn_calls_total\{provider="lyra",verdict="applied",status="200"\} \d+/);
    expect(metrics.text).toContain('ipn_reply_seconds_bucket');
  });

  it('keeps a well-formed incoming X-Request-Id and returns it; replaces a malformed one', async () => {
    const kept = await sendForm(t.app, { orderId: 'S-14', status: 'AUTHORISED' }).set('X-Request-Id', 'trace-abc.123');
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    const [delivery] = await database.db.selectFrom('deliveries').select('request_id').execute();
    expect(delivery?.request_id).toBe('trace-abc.123');
    const replaced = await sendForm(t.app, { orderId: 'S-15', status: 'AUTHORISED' }).set('X-Request-Id', 'not a valid id');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    // The call's log line carries the same id.
    const answered = capturedLogs.map((line) => JSON.parse(line) as { msg?: string; reqId?: string; orderId?: string }).filter((line) => line.msg === 'notification answered');
    const line = answered.find((l) => l.orderId === 'S-14');
    expect(line?.reqId).toBe('trace-abc.123');
    // Only these fields: the line is not redacted by path (http/ipn.ts), so nothing else may reach it.
    expect(Object.keys(line ?? {}).sort()).toEqual(['deliveryId', 'level', 'msg', 'notificationIds', 'orderId', 'orderStatus', 'provider', 'reply', 'reqId', 'service', 'status', 'time', 'verdict']);
    expect(answered.find((line) => line.orderId === 'S-15')?.reqId).toBe(replaced.headers['x-request-id']);
  });

  it('health and readiness', async () => {
    expect((await request(t.app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(t.app).get('/readyz')).body).toEqual({ status: 'ready' });
  });
});
