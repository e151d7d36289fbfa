import { createServer, Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import request from 'supertest';
import { REJECTED_BODY_KEPT_BYTES } from '../../src/ingest/settle';
import { encodeForm, lyraFormBody, lyraRestAnswer, lyraRestFields } from '../../src/tools/lyra-notifications';
import { AUDIT_TOKEN, createTestApp, HMAC_SHOP, PLATFORM_IP } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { capturedLogs, capturingLogger } from '../helpers/log-capture';
import { formBody, postLyra, sendForm } from '../helpers/lyra';
import { STRIPE_ENV } from '../helpers/stripe';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());
beforeEach(() => database.reset());

const deliveriesCount = async () => (await database.db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

describe('abuse', () => {
  it('a flood from a disallowed address is answered 403 but recorded only up to its budget, and counted', async () => {
    const { app, metrics, background } = createTestApp(database);
    const logsBefore = capturedLogs.length;
    const replies = await Promise.all(
      Array.from({ length: 60 }, () => request(app).post('/ipn/lyra').set('X-Forwarded-For', '203.0.113.9').type('form').send('vads_site_id=1')),
    );
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([403]));
    // Recorded or past the budget, the answer is the same.
    expect(new Set(replies.map((r) => r.text))).toEqual(new Set(['KO-forbidden source address: 203.0.113.9 is not allowed']));
    // A rejection answers without waiting more than 250 ms for its record: on a loaded machine
    // the last records are still being written after their replies.
    await background.settled();
    expect(Number(await deliveriesCount())).toBe(20);
    expect(await metrics.registry.getSingleMetricAsString('ipn_calls_unrecorded_total')).toContain('ipn_calls_unrecorded_total{provider="lyra",verdict="forbidden_source"} 40');
    // Nor does the log grow with the flood: a line per recorded call only.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(capturedLogs.slice(logsBefore).join('').split('203.0.113.9 is not allowed').length - 1).toBe(20);
    // The platform is not affected.
    await sendForm(app, { orderId: 'AFTER-FLOOD', status: 'AUTHORISED' }).expect(200);
  });
});

describe('forged traffic on a route open to any source', () => {
  it('3,000 forged Stripe calls of 512 KiB from one source grow the database by at most the record budget, of 8 KiB each', async () => {
    const t = createTestApp(database, STRIPE_ENV);
    const server = createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const body = Buffer.alloc(512 * 1024, '{"id":"evt_forged","object":"event"}'.padEnd(64, ' '));
    const sizeOf = async () => Number((await sql<{ n: string }>`SELECT pg_total_relation_size('deliveries') AS n`.execute(database.db)).rows[0]?.n);
    const post = () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/ipn/stripe', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, 'stripe-signature': 't=1,v1=00', 'x-forwarded-for': '203.0.113.50' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    const logsBefore = capturedLogs.length;
    try {
      const before = await sizeOf();
      const started = Date.now();
      const statuses = new Set<number>();
      for (let sent = 0; sent < 3000; sent += 8) (await Promise.all(Array.from({ length: 8 }, post))).forEach((s) => statuses.add(s));
      // A minute is the budget's window: a slow machine may open a second one.
      const windows = Math.floor((Date.now() - started) / 60_000) + 1;
      await t.background.settled();
      expect([...statuses]).toEqual([401]);
      const recorded = await database.db.selectFrom('deliveries').select(['raw_body', 'raw_length']).execute();
      expect(recorded.length).toBe(Math.min(20 * windows, 3000));
      expect(recorded.every((r) => r.raw_body?.length === REJECTED_BODY_KEPT_BYTES && r.raw_length === body.length)).toBe(true);
      // 1.5 GiB were sent; what is stored is a budget's worth of 8 KiB heads, with room for pages and indexes.
      expect(await sizeOf() - before).toBeLessThan(recorded.length * (REJECTED_BODY_KEPT_BYTES + 4096) + 256 * 1024);
      expect(await t.metrics.registry.getSingleMetricAsString('ipn_calls_unrecorded_total')).toContain(`ipn_calls_unrecorded_total{provider="stripe",verdict="bad_signature"} ${3000 - recorded.length}`);
      // Nor logged: one answer line per recorded call only.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const answered = capturedLogs.slice(logsBefore).filter((line) => line.includes('"msg":"notification answered"') && line.includes('"provider":"stripe"'));
      expect(answered.length).toBe(recorded.length);
    } finally {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 240_000);
});

describe('security basics', () => {
  it('every app a test builds logs into the capture that is scanned for secrets after the file', async () => {
    const before = capturedLogs.length;
    const { app } = createTestApp(database);
    await sendForm(app, { orderId: 'CAPTURED', status: 'AUTHORISED' }).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(capturedLogs.slice(before).join('')).toContain('"msg":"notification answered"');
  });

  it('says nothing about the framework', async () => {
    const { app } = createTestApp(database);
    const res = await request(app).get('/healthz').expect(200);
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('a wrong signature of the right length and one of another length take the same path and get the same answer', async () => {
    const { app } = createTestApp(database);
    const body = new URLSearchParams(formBody({ orderId: 'SIG', status: 'AUTHORISED' }));
    const signature = body.get('signature') as string;
    const sameLength = new URLSearchParams(body);
    sameLength.set('signature', `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`);
    const otherLength = new URLSearchParams(body);
    otherLength.set('signature', `${signature}AAAA`);
    const a = await postLyra(app, sameLength.toString());
    const b = await postLyra(app, otherLength.toString());
    expect([a.status, b.status]).toEqual([401, 401]);
    expect(a.text).toBe('KO-authentication failed: signature does not match');
    expect(b.text).toBe(a.text);
  });

  it('no key, password, token, signature, card number or e-mail reaches a log line', async () => {
    const before = capturedLogs.length;
    const logger = capturingLogger('trace');
    const { app } = createTestApp(database, { AUDIT_API_TOKEN: AUDIT_TOKEN }, logger);
    const pan = '4970101234567893';
    const email = 'zoe.martin@example.fr';
    const form = lyraFormBody({ shopId: HMAC_SHOP.shopId, orderId: 'LOG-1', status: 'AUTHORISED', extraFields: { vads_card_number: pan, vads_cust_email: email } }, HMAC_SHOP.testKey);
    await postLyra(app, form).expect(200);
    await postLyra(app, form.replace(/signature=[^&]+/, 'signature=forged')).expect(401);
    const answer = JSON.stringify(lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: 'LOG-2', status: 'AUTHORISED' })).replace('497010XXXXXX0055', pan).replace('buyer@example.com', email);
    const rest = lyraRestFields(answer, HMAC_SHOP.testPassword);
    await postLyra(app, encodeForm(rest)).expect(200);
    const recorded = await database.db.selectFrom('notifications').select('id').where('order_id', '=', 'LOG-1').executeTakeFirstOrThrow();
    await request(app).get(`/api/v1/notifications/${recorded.id}`).set('Authorization', `Bearer ${AUDIT_TOKEN}`).expect(200);
    await request(app).get('/api/v1/notifications').set('Authorization', 'Bearer wrong-token').expect(401);
    await request(app).post('/api/v1/deliveries/1/replay').set('Authorization', `Bearer ${AUDIT_TOKEN}`).set('X-Forwarded-For', PLATFORM_IP).expect(200);
    logger.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));

    const text = capturedLogs.slice(before).join('');
    expect(text).toContain('notification answered');
    const secrets = [HMAC_SHOP.testKey, HMAC_SHOP.productionKey, HMAC_SHOP.testPassword, HMAC_SHOP.productionPassword, AUDIT_TOKEN, pan, email, new URLSearchParams(form).get('signature') as string, rest['kr-hash'] as string];
    for (const secret of secrets) expect({ leaked: text.includes(secret) ? secret : null }).toEqual({ leaked: null });
  });
});
