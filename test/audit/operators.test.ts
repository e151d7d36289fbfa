import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import { DEMO_OPERATOR_TOKEN, loadConfig } from '../../src/config';
import { AUDIT_TOKEN, createTestApp, recordedCalls, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { capturedLogs } from '../helpers/log-capture';
import { sendForm } from '../helpers/lyra';

const READER = 'reader-token-0123456789abcdefghijklmnopqrstuv';
const OPERATOR = 'operator-token-0123456789abcdefghijklmnopqrs';
const NEXT_OPERATOR = 'operator-token-next-0123456789abcdefghijklmn';
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

const API_TOKENS = JSON.stringify([
  { name: 'support-1', tokenSha256: sha256(READER), scopes: ['read'] },
  { name: 'ops-1', tokenSha256: sha256(OPERATOR), scopes: ['read', 'replay', 'operate'] },
  { name: 'ops-2', token: NEXT_OPERATOR, scopes: ['read', 'replay', 'operate'] },
]);

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  t = createTestApp(database, { API_TOKENS, AUDIT_API_TOKEN: AUDIT_TOKEN });
});
afterAll(() => database.close());
beforeEach(() => database.reset());

const as = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
  post: (path: string) => request(t.app).post(`/api/v1${path}`).set('Authorization', `Bearer ${token}`),
});
const actions = async () => (await as(READER).get('/operator-actions')).body.data as { tokenName: string; action: string; target: string; outcome: string; detail: string }[];

describe('operator tokens and scopes', () => {
  it('several tokens are valid at once; AUDIT_API_TOKEN still reads and replays', async () => {
    for (const token of [READER, OPERATOR, NEXT_OPERATOR, AUDIT_TOKEN]) expect((await as(token).get('/notifications')).status).toBe(200);
    expect((await as(`${OPERATOR}x`).get('/notifications')).status).toBe(401);
  });

  it('a valid token without the scope a route needs is 403, naming the scope', async () => {
    await sendForm(t.app, { orderId: 'OP-1', status: 'AUTHORISED' }).expect(200);
    const replay = await as(READER).post('/deliveries/1/replay');
    expect(replay.status).toBe(403);
    expect(replay.body).toMatchObject({ detail: 'token support-1 lacks the replay scope', missingScope: 'replay' });
    const erase = await as(AUDIT_TOKEN).post('/orders/OP-1/erase-personal-data');
    expect(erase.body).toMatchObject({ status: 403, detail: 'token audit-api-token lacks the operate scope' });
  });

  it('replays, retries and erasures are written to the operator log with the token name, never the token', async () => {
    await sendForm(t.app, { orderId: 'OP-2', status: 'AUTHORISED' }).expect(200);
    expect((await as(OPERATOR).post('/deliveries/1/replay')).body).toMatchObject({ verdict: 'duplicate' });
    expect((await as(NEXT_OPERATOR).post('/outbox/00000000-0000-4000-8000-000000000000/retry')).status).toBe(404);
    expect((await actions()).map((a) => [a.tokenName, a.action, a.target, a.outcome])).toEqual([
      ['ops-2', 'retry', 'event 00000000-0000-4000-8000-000000000000', 'refused'],
      ['ops-1', 'replay', 'delivery 1', 'done'],
    ]);
    expect((await as(READER).get('/operator-actions?tokenName=ops-1')).body.data).toHaveLength(1);
    for (const token of [READER, OPERATOR, NEXT_OPERATOR]) expect(capturedLogs.join('\n')).not.toContain(token);
  });

  it('a token in the URL is refused, never accepted', async () => {
    for (const name of ['token', 'access_token']) {
      const res = await request(t.app).get(`/api/v1/notifications?${name}=${OPERATOR}`);
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(/never accepted in the URL/);
    }
  });

  it('answers are never cached nor sniffed', async () => {
    for (const res of [await as(READER).get('/notifications'), await request(t.app).get('/api/v1/notifications')]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('erasure of an order\'s personal data', () => {
  it('empties the stored bodies of the order\'s calls, keeps the normalized fields, and a replay says why it cannot', async () => {
    await sendForm(t.app, { orderId: 'ER-1', status: 'AUTHORISED', extraFields: { vads_cust_email: 'jeanne.martin@example.org' } }).expect(200);
    await sendForm(t.app, { orderId: 'ER-1', status: 'AUTHORISED', resend: true }).expect(200);
    await sendForm(t.app, { orderId: 'ER-2', status: 'AUTHORISED' }).expect(200);
    const erased = await as(OPERATOR).post('/orders/ER-1/erase-personal-data');
    expect(erased.status).toBe(200);
    expect(erased.body).toEqual({ orders: 1, erasedCalls: 2 });
    const calls = await recordedCalls(t, database);
    expect(calls.map((c) => [c.raw_body === null, c.erased_at !== null])).toEqual([[true, true], [true, true], [false, false]]);
    const shown = await as(READER).get('/deliveries/1');
    expect(shown.body).toMatchObject({ raw: null, verdict: 'applied', erasedAt: expect.any(String) });
    expect(JSON.stringify(shown.body)).not.toContain('jeanne');
    expect((await as(READER).get('/orders/ER-1')).body.data[0]).toMatchObject({ status: 'PAID' });
    const replay = await as(OPERATOR).post('/deliveries/1/replay');
    expect(replay.status).toBe(409);
    expect(replay.body.detail).toMatch(/^delivery 1: its personal data was erased on \d{4}-/);
    expect((await as(OPERATOR).post('/orders/ER-1/erase-personal-data')).body).toEqual({ orders: 1, erasedCalls: 0 });
    expect((await as(OPERATOR).post('/orders/NOPE/erase-personal-data')).status).toBe(404);
    expect((await actions()).map((a) => [a.action, a.outcome, a.detail])).toEqual([
      ['erase', 'refused', 'order NOPE not found'],
      ['erase', 'done', '0 call(s) of 1 order(s) erased'],
      ['replay', 'refused', expect.stringMatching(/erased/)],
      ['erase', 'done', '2 call(s) of 1 order(s) erased'],
    ]);
  });
});

describe('bad filter values', () => {
  it.each(['/notifications?orderId=%00x', '/orders/%00x', '/outbox?aggregateId=%00x', '/payment-methods?customerId=%01', '/subscriptions/a%00b'])('%s is a 400 problem naming the parameter', async (path) => {
    const res = await as(READER).get(path);
    expect(res.status).toBe(400);
    expect(res.body.invalidParams?.[0]?.reason).toBe('must not contain control characters');
  });

  it('no value of any parameter of any route answers 5xx', async () => {
    const routes = ['/notifications?orderId=', '/notifications?transactionId=', '/notifications?shopId=', '/notifications?from=', '/deliveries?verdict=', '/deliveries?to=', '/outbox?aggregateId=', '/outbox?state=', '/payment-methods?token=', '/operator-actions?tokenName=', '/notifications?cursor=', '/orders/', '/subscriptions/', '/deliveries/', '/notifications/', '/outbox/'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.string({ unit: 'binary', maxLength: 40 }), async (route, value) => {
        const res = await as(READER).get(`${route}${encodeURIComponent(value)}`);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });
});

describe('configuration of tokens and secrets', () => {
  const base = { NODE_ENV: 'test', LOG_LEVEL: 'silent' };
  it.each([
    ['not JSON', 'API_TOKENS: is not valid JSON'],
    [JSON.stringify([{ name: 'a', scopes: ['read'] }]), 'API_TOKENS: entry 0: give exactly one of tokenSha256 and token'],
    [JSON.stringify([{ name: 'a', tokenSha256: 'abc', scopes: ['read'] }]), 'API_TOKENS: entry 0: tokenSha256 must be the 64 hex digits'],
    [JSON.stringify([{ name: 'a', token: 'short', scopes: ['read'] }]), 'API_TOKENS: token a must be at least 32 characters'],
    [JSON.stringify([{ name: 'a', token: READER, scopes: ['admin'] }]), 'API_TOKENS: entry 0: scopes must list some of read, replay, operate'],
    [JSON.stringify([{ name: 'a', token: READER, scopes: ['read'] }, { name: 'a', token: OPERATOR, scopes: ['read'] }]), 'API_TOKENS: name a appears twice'],
  ])('API_TOKENS=%s is refused: %s', (raw, message) => {
    expect(() => loadConfig({ ...base, API_TOKENS: raw })).toThrow(message);
  });

  it('every secret variable may come from <NAME>_FILE; both set is an error naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipn-secrets-'));
    writeFileSync(join(dir, 'token'), `${OPERATOR}\n`);
    const fromFile = loadConfig({ ...base, AUDIT_API_TOKEN_FILE: join(dir, 'token') });
    expect(fromFile.operatorTokens.map((token) => token.sha256.toString('hex'))).toEqual([sha256(OPERATOR)]);
    expect(() => loadConfig({ ...base, AUDIT_API_TOKEN_FILE: join(dir, 'token'), AUDIT_API_TOKEN: OPERATOR })).toThrow('AUDIT_API_TOKEN: is set and so is AUDIT_API_TOKEN_FILE: set only one');
    expect(() => loadConfig({ ...base, LYRA_SHOPS_FILE: join(dir, 'missing') })).toThrow(`LYRA_SHOPS_FILE: cannot read ${join(dir, 'missing')}`);
  });
});

describe('the demo operator token', () => {
  it('exists with the demo configuration only, and is accepted from this machine only', async () => {
    const demo = createTestApp(database, { LYRA_SHOPS: '' });
    try {
      const local = await request(demo.app).get('/api/v1/operator-actions').set('Authorization', `Bearer ${DEMO_OPERATOR_TOKEN}`);
      expect(local.status).toBe(200);
      const remote = await request(demo.app).get('/api/v1/operator-actions').set('Authorization', `Bearer ${DEMO_OPERATOR_TOKEN}`).set('X-Forwarded-For', '203.0.113.9');
      expect([remote.status, remote.body.detail]).toEqual([401, 'token demo is accepted from this machine only']);
    } finally {
      await demo.close();
    }
    expect((await as(DEMO_OPERATOR_TOKEN).get('/operator-actions')).status).toBe(401);
  });
});
