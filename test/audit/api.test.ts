import { sql } from 'kysely';
import request from 'supertest';
import { purgeRawBodies } from '../../src/store/retention';
import { AUDIT_TOKEN, createTestApp, HMAC_SHOP, SHA1_SHOP, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { sendForm, sendRest } from '../helpers/lyra';

const TOKEN = AUDIT_TOKEN;

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.reset();
  t = createTestApp(database, { AUDIT_API_TOKEN: TOKEN });
});

const api = (path: string) => request(t.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${TOKEN}`);
const post = (path: string) => request(t.app).post(`/api/v1${path}`).set('Authorization', `Bearer ${TOKEN}`);

function expectProblem(res: request.Response, status: number, detail: string | RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as { type: string; title: string; status: number; detail: string };
  expect(body).toMatchObject({ type: 'about:blank', status });
  expect(body.detail).toMatch(detail);
  return body;
}

describe('audit API access', () => {
  it('is absent (404) when AUDIT_API_TOKEN is unset', async () => {
    const { app } = createTestApp(database);
    await request(app).get('/api/v1/notifications').set('Authorization', `Bearer ${TOKEN}`).expect(404);
  });

  it('refuses a missing or wrong bearer token with 401 and a challenge', async () => {
    const missing = await request(t.app).get('/api/v1/notifications');
    expectProblem(missing, 401, 'Authorization: Bearer <token> is required (API_TOKENS or AUDIT_API_TOKEN)');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="ipn-receiver audit"');
    for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
      expectProblem(await request(t.app).get('/api/v1/notifications').set('Authorization', header), 401, /./);
    }
    await request(t.app).get('/api/v1/notifications').set('Authorization', `bearer ${TOKEN}`).expect(200);
  });

  it('answers unknown routes of the API with a problem, not the IPN text reply', async () => {
    expectProblem(await api('/nope'), 404, 'no GET /api/v1/nope in this API');
  });

  it.each([
    ['/notifications?limit=0', 'limit', 'limit: must be a whole number from 1 to 500'],
    ['/notifications?limit=501', 'limit', 'limit: must be a whole number from 1 to 500'],
    ['/notifications?limit=ten', 'limit', 'limit: must be a whole number from 1 to 500'],
    ['/notifications?from=yesterday', 'from', 'from: must be an ISO 8601 date'],
    ['/notifications?from=2026-02-30', 'from', 'from: must be an ISO 8601 date'],
    ['/notifications?from=2026-11-23&to=2026-11-01', 'to', 'to: must be after from'],
    ['/notifications?status=paid', 'status', 'status: must be one of pending, authorised'],
    ['/notifications?cursor=bm9wZQ', 'cursor', 'cursor: is not a cursor this API returned'],
    ['/notifications?orderid=CMD-1', 'orderid', 'orderid: unknown parameter'],
    ['/notifications?orderId=a&orderId=b', 'orderId', 'orderId: must be given once'],
    [`/notifications?orderId=${'x'.repeat(129)}`, 'orderId', 'orderId: must be 1 to 128 characters'],
    ['/notifications/abc', 'id', 'id: must be a positive whole number'],
    ['/deliveries/0', 'id', 'id: must be a positive whole number'],
    ['/deliveries?verdict=', 'verdict', 'verdict: must be 1 to 128 characters'],
    ['/outbox?state=lost', 'state', 'state: must be one of pending, delivered, dead'],
    ['/outbox/not-a-uuid', 'id', 'id: must be a UUID'],
  ])('GET %s → 400 naming %s', async (path, name, detail) => {
    const body = expectProblem(await api(path), 400, detail) as unknown as { invalidParams: { name: string }[] };
    expect(body.invalidParams[0]?.name).toBe(name);
  });

  it('404 with a problem for ids that do not exist', async () => {
    expectProblem(await api('/notifications/999'), 404, 'notification 999 not found');
    expectProblem(await api('/deliveries/999'), 404, 'delivery 999 not found');
    expectProblem(await api('/orders/NOPE'), 404, 'order NOPE not found');
    expectProblem(await api('/outbox/00000000-0000-4000-8000-000000000000'), 404, 'not found');
  });
});

describe('notifications', () => {
  beforeEach(async () => {
    await sendForm(t.app, { orderId: 'CMD-1', status: 'AUTHORISED' }).expect(200);
    await sendForm(t.app, { orderId: 'CMD-1', status: 'AUTHORISED' }).expect(200); // duplicate
    await sendForm(t.app, { orderId: 'CMD-2', status: 'REFUSED' }).expect(200);
    await sendRest(t.app, { orderId: 'CMD-3', status: 'AUTHORISED', mode: 'PRODUCTION' }).expect(200);
  });

  it('lists newest first, with every documented filter', async () => {
    const all = (await api('/notifications').expect(200)).body as { data: { id: number; orderId: string; transactionId: string }[]; nextCursor: null };
    expect(all.data.map((n) => n.orderId)).toEqual(['CMD-3', 'CMD-2', 'CMD-1']);
    expect(all.nextCursor).toBeNull();
    const ids = async (query: string) => ((await api(`/notifications?${query}`).expect(200)).body as { data: { orderId: string }[] }).data.map((n) => n.orderId);
    expect(await ids('orderId=CMD-1')).toEqual(['CMD-1']);
    expect(await ids(`transactionId=${all.data[1]?.transactionId}`)).toEqual(['CMD-2']);
    expect(await ids(`shopId=${HMAC_SHOP.shopId}`)).toEqual(['CMD-3', 'CMD-2', 'CMD-1']);
    expect(await ids(`shopId=${SHA1_SHOP.shopId}`)).toEqual([]);
    expect(await ids('provider=lyra&status=REFUSED')).toEqual(['CMD-2']);
    expect(await ids('status=authorised')).toEqual(['CMD-3', 'CMD-1']);
    expect(await ids('from=2000-01-01&to=2100-01-01T00:00:00Z')).toEqual(['CMD-3', 'CMD-2', 'CMD-1']);
    expect(await ids('to=2000-01-01')).toEqual([]);
  });

  it('shows one notification: normalized fields, masked raw fields, every call, its events', async () => {
    const [first] = ((await api('/notifications?orderId=CMD-1').expect(200)).body as { data: { id: number }[] }).data;
    const detail = (await api(`/notifications/${first?.id}`).expect(200)).body as Record<string, unknown> & {
      raw: { fields: Record<string, unknown> };
      deliveries: { outcome: string; origin: string; sourceIp: string; httpStatus: number; reply: string }[];
      events: { type: string; state: string }[];
    };
    expect(detail).toMatchObject({ orderId: 'CMD-1', status: 'authorised', statusRaw: 'AUTHORISED', amount: 4990, currency: 'EUR', mode: 'TEST', outcome: 'applied', format: 'form' });
    expect(detail.raw.fields).toMatchObject({ vads_order_id: 'CMD-1', vads_card_number: '497010XXXXXX0055', vads_cust_email: 'b…@example.com', signature: '[redacted]', vads_hash: '[redacted]' });
    expect(detail.deliveries.map((d) => [d.outcome, d.origin, d.httpStatus])).toEqual([
      ['applied', 'http', 200],
      ['duplicate', 'http', 200],
    ]);
    expect(detail.deliveries[0]?.sourceIp).toBe('194.50.38.42');
    expect(detail.deliveries[0]?.reply).toMatch(/^OK-applied/);
    expect(detail.events.map((e) => [e.type, e.state])).toEqual([['order.paid', 'pending']]);
  });

  it('shows a REST notification with kr-answer parsed and masked', async () => {
    const [rest] = ((await api('/notifications?orderId=CMD-3').expect(200)).body as { data: { id: number }[] }).data;
    const detail = (await api(`/notifications/${rest?.id}`).expect(200)).body as { format: string; raw: { fields: { 'kr-hash': string; 'kr-answer': { customer: { email: string }; orderDetails: { orderId: string } } } } };
    expect(detail.format).toBe('rest');
    expect(detail.raw.fields['kr-hash']).toBe('[redacted]');
    expect(detail.raw.fields['kr-answer'].customer.email).toBe('b…@example.com');
    expect(detail.raw.fields['kr-answer'].orderDetails.orderId).toBe('CMD-3');
  });

  it('lists calls with filters and shows one call', async () => {
    await sendForm(t.app, { orderId: 'CMD-4', status: 'AUTHORISED', shopId: SHA1_SHOP.shopId }).expect(401);
    const list = (await api('/deliveries').expect(200)).body as { data: { id: number; verdict: string; httpStatus: number; rawBodyKept: boolean }[] };
    expect(list.data.map((d) => d.verdict)).toEqual(['bad_signature', 'applied', 'applied', 'duplicate', 'applied']);
    const rejected = (await api('/deliveries?verdict=bad_signature').expect(200)).body as { data: { id: number; httpStatus: number; reason: string }[] };
    expect(rejected.data).toHaveLength(1);
    expect(rejected.data[0]).toMatchObject({ httpStatus: 401 });
    expect(((await api('/deliveries?origin=replay').expect(200)).body as { data: unknown[] }).data).toEqual([]);
    const one = (await api(`/deliveries/${rejected.data[0]?.id}`).expect(200)).body as { raw: { fields: Record<string, string> }; notifications: unknown[] };
    expect(one.raw.fields.vads_order_id).toBe('CMD-4');
    expect(one.notifications).toEqual([]);
  });

  it('shows an order: derived status, transactions with history, events and their delivery state', async () => {
    await sendForm(t.app, { orderId: 'CMD-1', status: 'CAPTURED' }).expect(200);
    const body = (await api('/orders/CMD-1').expect(200)).body as {
      data: { status: string; mode: string; transactions: { status: string; history: { statusRaw: string; outcome: string }[] }[]; events: { type: string; state: string }[] }[];
    };
    expect(body.data).toHaveLength(1);
    const [order] = body.data;
    expect(order).toMatchObject({ status: 'PAID', mode: 'TEST', paidAmount: 4990, aggregateId: 'lyra:12345678:TEST:CMD-1' });
    expect(order?.transactions).toHaveLength(1);
    expect(order?.transactions[0]?.status).toBe('captured');
    expect(order?.transactions[0]?.history.map((h) => [h.statusRaw, h.outcome])).toEqual([
      ['AUTHORISED', 'applied'],
      ['CAPTURED', 'applied'],
    ]);
    expect(order?.events.map((e) => [e.type, e.state])).toEqual([['order.paid', 'pending']]);
    expect(((await api(`/orders/CMD-1?shopId=${SHA1_SHOP.shopId}`)).status)).toBe(404);
    expect(((await api('/orders/CMD-1?provider=lyra&shopId=12345678').expect(200)).body as { data: unknown[] }).data).toHaveLength(1);
  });
});

describe('pagination', () => {
  async function seedNotifications(count: number, prefix: string): Promise<void> {
    for (let i = 0; i < count; i++) await sendForm(t.app, { orderId: `${prefix}-${i}`, status: 'AUTHORISED' }).expect(200);
  }

  it('walks every page with no duplicate and no gap while notifications keep arriving', async () => {
    await seedNotifications(23, 'PAGE');
    const before = ((await api('/notifications?limit=500').expect(200)).body as { data: { id: number }[] }).data.map((n) => n.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api(`/notifications?limit=5${cursor === null ? '' : `&cursor=${cursor}`}`).expect(200);
      const body = res.body as { data: { id: number }[]; nextCursor: string | null };
      seen.push(...body.data.map((n) => n.id));
      cursor = body.nextCursor;
      pages++;
      // New notifications arrive between pages: they are newer than the walk and never shift it.
      await Promise.all([sendForm(t.app, { orderId: `NEW-${pages}-a`, status: 'AUTHORISED' }), sendForm(t.app, { orderId: `NEW-${pages}-b`, status: 'REFUSED' })]);
    } while (cursor !== null);
    expect(pages).toBe(5);
    expect(seen).toEqual(before);
    expect(new Set(seen).size).toBe(23);
  });

  it('pages the calls and the outbox the same way', async () => {
    await seedNotifications(7, 'OUT');
    const walk = async (path: string, key: 'id' | 'seq') => {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const body = (await api(`${path}${sep}limit=3${cursor === null ? '' : `&cursor=${cursor}`}`).expect(200)).body as { data: Record<string, number>[]; nextCursor: string | null };
        seen.push(...body.data.map((row) => row[key] as number));
        cursor = body.nextCursor;
      } while (cursor !== null);
      return seen;
    };
    expect(await walk('/deliveries', 'id')).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(await walk('/outbox?state=pending', 'seq')).toEqual([7, 6, 5, 4, 3, 2, 1]);
  });
});

describe('replay', () => {
  it('recovers a notification rejected for a wrong key once the key is fixed, and a second replay changes nothing', async () => {
    const wrongKey = createTestApp(database, { AUDIT_API_TOKEN: TOKEN, LYRA_SHOPS: JSON.stringify([{ ...HMAC_SHOP, testKey: 'an-old-key-left-in-config' }]) });
    const rejected = await sendForm(wrongKey.app, { orderId: 'CMD-KEY', status: 'AUTHORISED' });
    expect(rejected.status).toBe(401);
    const [call] = ((await api('/deliveries?verdict=bad_signature').expect(200)).body as { data: { id: number }[] }).data;

    // Still the wrong key: the replay is refused again, and recorded.
    const stillWrong = (await request(wrongKey.app).post(`/api/v1/deliveries/${call?.id}/replay`).set('Authorization', `Bearer ${TOKEN}`).expect(200)).body as { verdict: string; httpStatus: number };
    expect(stillWrong).toMatchObject({ verdict: 'bad_signature', httpStatus: 401 });

    // The configuration is fixed (t has the right key).
    const replayed = (await post(`/deliveries/${call?.id}/replay`).expect(200)).body as { replayOf: number; verdict: string; httpStatus: number; reply: string; notificationIds: number[]; orderStatus: string };
    expect(replayed).toMatchObject({ replayOf: call?.id, verdict: 'applied', httpStatus: 200, orderStatus: 'PAID' });
    expect(replayed.reply).toMatch(/^OK-applied: order CMD-KEY/);
    const counts = async () =>
      (await sql<{ n: number; e: number; o: string }>`SELECT (SELECT count(*)::int FROM notifications) AS n, (SELECT count(*)::int FROM outbox) AS e, (SELECT status FROM orders WHERE order_id = 'CMD-KEY') AS o`.execute(database.db)).rows[0];
    expect(await counts()).toEqual({ n: 1, e: 1, o: 'PAID' });

    const again = (await post(`/deliveries/${call?.id}/replay`).expect(200)).body as { verdict: string };
    expect(again.verdict).toBe('duplicate');
    const byNotification = (await post(`/notifications/${replayed.notificationIds[0]}/replay`).expect(200)).body as { verdict: string };
    expect(byNotification.verdict).toBe('duplicate');
    expect(await counts()).toEqual({ n: 1, e: 1, o: 'PAID' });

    const origins = ((await api('/deliveries').expect(200)).body as { data: { origin: string; verdict: string }[] }).data.map((d) => [d.origin, d.verdict]);
    expect(origins).toEqual([
      ['replay', 'duplicate'],
      ['replay', 'duplicate'],
      ['replay', 'applied'],
      ['replay', 'bad_signature'],
      ['http', 'bad_signature'],
    ]);
  });

  it('refuses to replay a call whose body is gone', async () => {
    await request(t.app).post('/ipn/lyra').set('Content-Type', 'application/x-www-form-urlencoded').send('vads_site_id=1').expect(403);
    const [forbidden] = ((await api('/deliveries').expect(200)).body as { data: { id: number }[] }).data;
    expectProblem(await post(`/deliveries/${forbidden?.id}/replay`), 409, /has no stored body/);
  });
});

describe('outbox', () => {
  it('lists by state and puts a dead event back to pending, once', async () => {
    await sendForm(t.app, { orderId: 'CMD-O', status: 'AUTHORISED' }).expect(200);
    const [event] = ((await api('/outbox').expect(200)).body as { data: { id: string }[] }).data;
    expectProblem(await post(`/outbox/${event?.id}/retry`), 409, /is not dead/);
    await sql`UPDATE outbox SET state = 'dead', attempts = 24, last_error = 'HTTP 500' WHERE id = ${event?.id}`.execute(database.db);
    expect(((await api('/outbox?state=dead').expect(200)).body as { data: unknown[] }).data).toHaveLength(1);
    expect(((await api('/outbox?state=pending').expect(200)).body as { data: unknown[] }).data).toHaveLength(0);

    const retried = (await post(`/outbox/${event?.id}/retry`).expect(200)).body as { state: string; attempts: number; lastError: string };
    expect(retried).toMatchObject({ state: 'pending', attempts: 0, lastError: 'HTTP 500' });
    expectProblem(await post(`/outbox/${event?.id}/retry`), 409, /is not dead/);
    expectProblem(await post('/outbox/00000000-0000-4000-8000-000000000000/retry'), 404, /not found/);
    expect(((await api(`/outbox/${event?.id}`).expect(200)).body as { state: string }).state).toBe('pending');
  });
});

describe('retention', () => {
  it('purges raw bodies past retention in batches, keeping everything else; the API then says the body is gone', async () => {
    for (let i = 0; i < 5; i++) await sendForm(t.app, { orderId: `OLD-${i}`, status: 'AUTHORISED' }).expect(200);
    await sendForm(t.app, { orderId: 'RECENT', status: 'AUTHORISED' }).expect(200);
    await sql`UPDATE deliveries SET received_at = now() - interval '91 days' WHERE id <= 5`.execute(database.db);

    expect(await purgeRawBodies(database.db, 90, 2)).toBe(5);
    expect(await purgeRawBodies(database.db, 90, 2)).toBe(0);
    const kept = await sql<{ id: number; kept: boolean }>`SELECT id, raw_body IS NOT NULL AS kept FROM deliveries ORDER BY id`.execute(database.db);
    expect(kept.rows.map((r) => r.kept)).toEqual([false, false, false, false, false, true]);

    const [old] = ((await api('/notifications?orderId=OLD-0').expect(200)).body as { data: { id: number }[] }).data;
    const detail = (await api(`/notifications/${old?.id}`).expect(200)).body as { raw: unknown; status: string; deliveries: { rawBodyKept: boolean }[] };
    expect(detail).toMatchObject({ raw: null, status: 'authorised' });
    expect(detail.deliveries[0]?.rawBodyKept).toBe(false);
    expectProblem(await post(`/notifications/${old?.id}/replay`), 409, /no stored body left to replay/);
  });
});
