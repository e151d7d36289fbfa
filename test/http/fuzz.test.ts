import fc from 'fast-check';
import { sql } from 'kysely';
import request from 'supertest';
import { createTestApp, PLATFORM_IP, type TestApp } from '../helpers/app';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { formBody, restBody } from '../helpers/lyra';
import { getPaybox, PAYBOX_ENV, PAYBOX_IP, SITE_QUERY } from '../helpers/paybox';
import { payboxMessage } from '../../src/tools/paybox-notifications';
import { stripeEventBody, stripeSignatureHeader } from '../../src/tools/stripe-notifications';
import { STRIPE_ENV, STRIPE_SECRET } from '../helpers/stripe';
import { startFakePayline } from '../../src/tools/fake-payline';

/**
 * The whole HTTP path fed arbitrary input: never a 500, never a crash, a reply per the reply contract (a
 * status of the table and a one-line `OK-`/`KO-` body of at most 200 bytes), and never a record
 * left half-written.
 */
let database: TestDatabase;
let t: TestApp;
beforeAll(async () => {
  database = await openTestDatabase();
  t = createTestApp(database, { IPN_BODY_LIMIT_BYTES: '4096' });
});
afterAll(() => database.close());

const CONTRACT_STATUSES = new Set([200, 400, 401, 403, 413, 415, 503]);
const CONTENT_TYPES = [
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'application/json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded;;;',
  '',
];

/** Valid notifications, then damaged: truncated, bytes flipped, fields repeated, bad escapes, bad UTF-8. */
const damaged = fc
  .tuple(
    fc.constantFrom('form', 'rest'),
    fc.integer({ min: 0, max: 1_000_000 }),
    fc.constantFrom('truncate', 'flip', 'repeat', 'escape', 'utf8', 'append'),
    fc.nat(),
    fc.string({ maxLength: 40 }),
  )
  .map(([format, n, how, position, extra]) => {
    const body = Buffer.from(format === 'form' ? formBody({ orderId: `FZ-${n}`, status: 'AUTHORISED' }) : restBody({ orderId: `FZ-${n}`, status: 'AUTHORISED' }));
    const at = position % body.length;
    switch (how) {
      case 'truncate':
        return body.subarray(0, at);
      case 'flip':
        return Buffer.concat([body.subarray(0, at), Buffer.from([body[at]! ^ 0x20]), body.subarray(at + 1)]);
      case 'repeat':
        return Buffer.concat([body, Buffer.from('&'), body.subarray(0, body.indexOf('&'))]);
      case 'escape':
        return Buffer.concat([body.subarray(0, at), Buffer.from('%G'), body.subarray(at)]);
      case 'utf8':
        return Buffer.concat([body.subarray(0, at), Buffer.from([0xc3, 0x28, 0xff]), body.subarray(at)]);
      default:
        return Buffer.concat([body, Buffer.from(`&${encodeURIComponent(extra)}=${encodeURIComponent(extra)}`)]);
    }
  });

/** Extra headers, names and values drawn from what HTTP allows, including ones that matter here. */
const headerSets = fc.dictionary(
  fc.oneof(fc.constantFrom('x-request-id', 'content-encoding', 'transfer-encoding-x', 'x-forwarded-proto', 'accept', 'content-language'), fc.stringMatching(/^x-[a-z0-9-]{1,20}$/)),
  fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,80}$/),
  { maxKeys: 6 },
);

const anyBody = fc.oneof(
  fc.uint8Array({ maxLength: 6000 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 4097, max: 40_000 }).map((size) => Buffer.alloc(size, 'vads_x=1&')),
  fc.array(fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 300 })), { maxLength: 1500 }).map((pairs) => Buffer.from(pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'))),
  damaged,
);

it('answers every input per the reply contract and never half-writes', async () => {
  const seen = new Set<number>();
  await fc.assert(
    fc.asyncProperty(anyBody, fc.constantFrom(...CONTENT_TYPES), fc.boolean(), headerSets, async (body, contentType, fromPlatform, headers) => {
      let req = request(t.app).post('/ipn/lyra').set(headers);
      if (fromPlatform) req = req.set('X-Forwarded-For', PLATFORM_IP);
      if (contentType !== '') req = req.set('Content-Type', contentType);
      const res = await req.serialize((bytes: Buffer) => bytes as unknown as string).send(body);
      seen.add(res.status);
      expect(CONTRACT_STATUSES.has(res.status)).toBe(true);
      expect(res.text).toMatch(/^(OK|KO)-[^\n]*$/);
      expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(200);
      if (res.status === 200) expect(res.text.startsWith('OK-')).toBe(true);
    }),
    {
      numRuns: 300,
      // One input of each kind of answer, so every path is taken whatever the random draw.
      examples: [
        [Buffer.from(`${formBody({ orderId: 'FZ-OK', status: 'AUTHORISED' })}&note=1`), CONTENT_TYPES[0] as string, true, {}],
        [Buffer.from('vads_site_id=12345678'), CONTENT_TYPES[0] as string, true, {}],
        [Buffer.from(formBody({ orderId: 'FZ-SIG', status: 'AUTHORISED' }).replace(/signature=[^&]+/, 'signature=AAAA')), CONTENT_TYPES[0] as string, true, {}],
        [Buffer.from('vads_site_id=1'), CONTENT_TYPES[0] as string, false, {}],
        [Buffer.alloc(5000, 'a'), CONTENT_TYPES[0] as string, true, {}],
        [Buffer.from('{}'), 'application/json', true, {}],
        [Buffer.from(formBody({ orderId: 'FZ-GZ', status: 'AUTHORISED' })), CONTENT_TYPES[0] as string, true, { 'content-encoding': 'gzip' }],
      ],
    },
  );
  // Every kind of answer was reached, applied notifications included.
  expect([...seen].sort()).toEqual(expect.arrayContaining([200, 400, 401, 403, 413, 415]));

  await expectNothingHalfWritten();
}, 120_000);

describe('Paybox', () => {
  let paybox: TestApp;
  beforeAll(() => {
    paybox = createTestApp(database, { ...PAYBOX_ENV, IPN_BODY_LIMIT_BYTES: '4096' });
  });

  /** Signed IPNs, then damaged; and arbitrary printable query strings (what a request line can carry). */
  const damagedIpn = fc
    .tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom('truncate', 'flip', 'escape', 'append', 'none'), fc.nat(), fc.stringMatching(/^[A-Za-z0-9]{0,12}$/))
    .map(([n, how, position, extra]) => {
      const raw = payboxMessage({ prefix: SITE_QUERY, orderId: `FZ-P-${n}`, call: String(n + 1) });
      const at = position % raw.length;
      switch (how) {
        case 'truncate':
          return raw.slice(0, at);
        case 'flip':
          return raw.slice(0, at) + (raw[at] === 'A' ? 'B' : 'A') + raw.slice(at + 1);
        case 'escape':
          return `${raw.slice(0, at)}%G${raw.slice(at)}`;
        case 'append':
          return `${raw}&${extra}=${extra}`;
        default:
          return raw;
      }
    });
  const anyQuery = fc.oneof(fc.stringMatching(/^[\x21-\x22\x24-\x7e]{0,400}$/), damagedIpn);

  it('answers every query string and body per the reply contract, with an empty page on success', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(anyQuery, fc.option(anyBody, { nil: undefined }), fc.boolean(), async (query, body, fromPlatform) => {
        const from = fromPlatform ? PAYBOX_IP : '203.0.113.1';
        const res = body === undefined ? await getPaybox(paybox.app, query, from) : await postPayboxBytes(paybox.app, query, body, from);
        seen.add(res.status);
        expect(CONTRACT_STATUSES.has(res.status)).toBe(true);
        if (res.status === 200) expect(res.text).toBe('');
        else expect(res.text).toMatch(/^KO-[^\n]{0,197}$/);
      }),
      {
        numRuns: 300,
        // One input of each kind of answer: applied, malformed though signed, bad signature.
        examples: [
          [payboxMessage({ prefix: SITE_QUERY, orderId: 'FZ-P-OK', call: '1' }), undefined, true],
          [payboxMessage({ prefix: SITE_QUERY, orderId: 'FZ-P-BAD', call: '2', error: '0' }), undefined, true],
          [payboxMessage({ prefix: SITE_QUERY, orderId: 'FZ-P-SIG', call: '3' }).replace('Mt=4990', 'Mt=4991'), undefined, true],
        ],
      },
    );
    expect([...seen]).toEqual(expect.arrayContaining([200, 400, 401, 403]));
    await expectNothingHalfWritten();
  }, 120_000);
});

function postPayboxBytes(app: TestApp['app'], query: string, body: Buffer, from: string) {
  return request(app)
    .post(`/ipn/paybox?${query}`)
    .set('X-Forwarded-For', from)
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .serialize((bytes: Buffer) => bytes as unknown as string)
    .send(body);
}

/**
 * Nothing half-written: every notification is linked to the call that carried it and belongs to
 * an order; every paid order has its event.
 */
async function expectNothingHalfWritten(): Promise<void> {
  const { rows } = await sql<{ unlinked: number; orphan: number; without_event: number }>`
    SELECT (SELECT count(*)::int FROM notifications n WHERE NOT EXISTS (SELECT 1 FROM delivery_notifications l WHERE l.notification_id = n.id)) AS unlinked,
           (SELECT count(*)::int FROM notifications WHERE order_ref IS NULL) AS orphan,
           (SELECT count(*)::int FROM orders o WHERE o.status = 'PAID' AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.aggregateid = o.provider || ':' || o.shop_id || ':' || o.mode || ':' || o.order_id)) AS without_event`.execute(database.db);
  expect(rows[0]).toEqual({ unlinked: 0, orphan: 0, without_event: 0 });
}

describe('Stripe', () => {
  let stripe: TestApp;
  beforeAll(() => {
    stripe = createTestApp(database, { ...STRIPE_ENV, IPN_BODY_LIMIT_BYTES: '4096' });
  });

  /** Signed events, then damaged; arbitrary bytes; headers from nothing to well-formed but wrong. */
  const signedOrDamaged = fc
    .tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom('none', 'truncate', 'flip', 'header'), fc.nat())
    .map(([n, how, position]): [Buffer, string | null] => {
      const body = stripeEventBody({ type: 'payment_intent.succeeded', orderId: `FZ-S-${n}`, paymentIntent: `pi_fz_${n}` });
      const header = stripeSignatureHeader(body, [STRIPE_SECRET]);
      const at = position % body.length;
      if (how === 'truncate') return [Buffer.from(body.slice(0, at)), header];
      if (how === 'flip') return [Buffer.from(body.slice(0, at) + (body[at] === 'a' ? 'b' : 'a') + body.slice(at + 1)), header];
      if (how === 'header') return [Buffer.from(body), header.slice(0, at % header.length)];
      return [Buffer.from(body), header];
    });
  const anyCall = fc.oneof(signedOrDamaged, fc.tuple(anyBody, fc.option(fc.stringMatching(/^[\x20-\x7e]{0,200}$/), { nil: null })));

  it('answers every body and signature header per the reply contract and never half-writes', async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(anyCall, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', ''), async ([body, header], contentType) => {
        let req = request(stripe.app).post('/ipn/stripe');
        if (contentType !== '') req = req.set('Content-Type', contentType);
        if (header !== null) req = req.set('Stripe-Signature', header);
        const res = await req.serialize((bytes: Buffer) => bytes as unknown as string).send(body);
        seen.add(res.status);
        expect(CONTRACT_STATUSES.has(res.status)).toBe(true);
        expect(res.text).toMatch(/^(OK|KO)-[^\n]*$/);
        expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(200);
      }),
      {
        numRuns: 300,
        examples: [
          [[Buffer.from('{"signed":"but not an event"}'), stripeSignatureHeader('{"signed":"but not an event"}', [STRIPE_SECRET])], 'application/json'],
          [[Buffer.from('{}'), 't=1,v1=00'], 'application/json'],
        ],
      },
    );
    // A signed body that is not an event is recorded, 200, not refused: no 400 after verification.
    expect([...seen]).toEqual(expect.arrayContaining([200, 401, 415]));
    await expectNothingHalfWritten();
  }, 120_000);
});

describe('Payline', () => {
  it('answers every query string per the reply contract, whatever the fake Payline answers', async () => {
    const fake = await startFakePayline();
    try {
      fake.results.set('TOKEN', { code: '00000', shortMessage: 'ACCEPTED', transactionId: 'FZTX', amount: 100, currency: '978', action: '101', orderRef: 'FZ-L' });
      const merchant = { merchantId: 'fz', accessKey: 'k', environment: 'homologation', directoryUrl: fake.directoryUrl('fz'), defaultUrl: fake.endpointUrl('a') };
      const payline = createTestApp(database, { PAYLINE_MERCHANTS: JSON.stringify([merchant]) });
      const queries = fc.oneof(
        fc.stringMatching(/^[\x21-\x22\x24-\x7e]{0,300}$/),
        fc.tuple(fc.constantFrom('WEBTRS', 'webtrs', 'TRS', 'TRSWALLET', 'WALLET', 'BILL', ''), fc.constantFrom('token', 'transactionId', 'x'), fc.stringMatching(/^[A-Za-z0-9%_-]{0,70}$/)).map(([type, name, value]) => `notificationType=${type}&${name}=${value}`),
      );
      const seen = new Set<number>();
      await fc.assert(
        fc.asyncProperty(queries, async (query) => {
          const res = await request(payline.app).get(`/ipn/payline?${query}`);
          seen.add(res.status);
          expect(CONTRACT_STATUSES.has(res.status)).toBe(true);
          expect(res.text).toMatch(/^(OK|KO)-[^\n]*$/);
          expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(200);
        }),
        { numRuns: 200, examples: [['notificationType=WEBTRS&token=TOKEN'], ['notificationType=WEBTRS&token=NONE']] },
      );
      expect([...seen]).toEqual(expect.arrayContaining([200, 400]));
      await expectNothingHalfWritten();
    } finally {
      await fake.close();
    }
  }, 120_000);
});
