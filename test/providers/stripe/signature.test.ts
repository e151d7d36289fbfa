import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { handleStripeNotification, parseStripeSignatureHeader, verifyStripeSignature, type StripeEndpoint } from '../../../src/providers/stripe';
import { stripeEventBody, stripeSignatureHeader } from '../../../src/tools/stripe-notifications';

interface StripeVector {
  secret: string;
  payload: string;
  timestamp: number;
  header: string;
  header_during_rotation: string;
}
// Where the vector came from: test/fixtures/README.md.
const vector = (JSON.parse(readFileSync(join(__dirname, '../../fixtures/vectors.json'), 'utf8')) as { stripe: StripeVector }).stripe;
const body = Buffer.from(vector.payload);

function check(header: string, secrets: readonly string[], receivedAt: number, payload: Uint8Array = body, tolerance = 300) {
  const parsed = parseStripeSignatureHeader(header);
  if (!parsed.ok) return parsed;
  return verifyStripeSignature(payload, parsed.header, secrets, receivedAt, tolerance);
}

describe('Stripe-Signature: the vectors', () => {
  it('the header verifies over the raw body', () => {
    expect(check(vector.header, [vector.secret], vector.timestamp)).toEqual({ ok: true, secretIndex: 0 });
  });

  it('during a roll, the header with two v1 verifies, whichever secret is configured', () => {
    expect(check(vector.header_during_rotation, [vector.secret], vector.timestamp + 10)).toEqual({ ok: true, secretIndex: 0 });
    expect(check(vector.header, ['whsec_other_secret_123', vector.secret], vector.timestamp)).toEqual({ ok: true, secretIndex: 1 });
  });

  it('the builder reproduces the vector header', () => {
    expect(stripeSignatureHeader(vector.payload, [vector.secret], vector.timestamp)).toBe(vector.header);
  });

  it('a timestamp older or newer than the tolerance is refused; at the limit it passes', () => {
    expect(check(vector.header, [vector.secret], vector.timestamp + 300)).toEqual({ ok: true, secretIndex: 0 });
    expect(check(vector.header, [vector.secret], vector.timestamp + 301)).toEqual({ ok: false, reason: 'timestamp is 301 s old, tolerance 300 s' });
    expect(check(vector.header, [vector.secret], vector.timestamp - 301)).toEqual({ ok: false, reason: 'timestamp is 301 s in the future, tolerance 300 s' });
    expect(check(vector.header, [vector.secret], vector.timestamp + 1000, body, 3600)).toEqual({ ok: true, secretIndex: 0 });
  });

  it('a tampered or re-serialized body, another secret, a changed timestamp all fail', () => {
    const refused = { ok: false, reason: 'no v1 signature matches the endpoint secret(s)' };
    expect(check(vector.header, [vector.secret], vector.timestamp, Buffer.from(vector.payload.replace('"42"', '"43"')))).toEqual(refused);
    expect(check(vector.header, [vector.secret], vector.timestamp, Buffer.from(JSON.stringify(JSON.parse(vector.payload), null, 2)))).toEqual(refused);
    expect(check(vector.header, ['whsec_test_0123456789abcdeX'], vector.timestamp)).toEqual(refused);
    expect(check(vector.header.replace(`t=${vector.timestamp}`, `t=${vector.timestamp + 1}`), [vector.secret], vector.timestamp)).toEqual(refused);
  });

  it.each([
    [null, 'Stripe-Signature header missing'],
    ['', 'Stripe-Signature header missing'],
    ['v1=abc', 'Stripe-Signature has no t= timestamp'],
    ['t=abc,v1=abc', 'Stripe-Signature has no t= timestamp'],
    ['t=1700000000,v0=abc', 'Stripe-Signature has no v1 signature'],
  ])('header %p: %s', (header, reason) => {
    expect(parseStripeSignatureHeader(header)).toEqual({ ok: false, reason });
  });

  it('v0 and malformed v1 entries are ignored beside a good v1', () => {
    expect(check(`${vector.header},v0=abc,v1=potato`, [vector.secret], vector.timestamp)).toEqual({ ok: true, secretIndex: 0 });
  });
});

describe('Stripe-Signature: properties', () => {
  const secret = 'whsec_property_secret_0123456789';
  const endpoint: StripeEndpoint = { id: 'acct_1', secrets: [secret], orderIdPaths: [['metadata', 'order_id']] };
  const receiver = { endpoints: [endpoint], toleranceSeconds: 300 };
  const now = 1_800_000_000;

  it('every body signed at any time within the tolerance verifies; shifted one second past it, it does not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.integer({ min: -300, max: 300 }), (bytes, skew) => {
        const header = stripeSignatureHeader(bytes, [secret], now + skew);
        expect(check(header, [secret], now, bytes).ok).toBe(true);
        expect(check(header, [secret], now + (skew <= 0 ? 301 + skew : skew - 301), bytes).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('changing any byte of the body breaks the signature', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bytes, position, delta) => {
        const header = stripeSignatureHeader(bytes, [secret], now);
        const tampered = Uint8Array.from(bytes);
        const at = position % bytes.length;
        tampered[at] = ((tampered[at] as number) + delta) % 256;
        expect(check(header, [secret], now, tampered)).toEqual({ ok: false, reason: 'no v1 signature matches the endpoint secret(s)' });
      }),
      { numRuns: 200 },
    );
  });

  it('arbitrary headers and bodies are refused with a reason and never throw', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ maxLength: 200 }), { nil: null }), fc.uint8Array({ maxLength: 300 }), (header, bytes) => {
        const result = handleStripeNotification({ body: bytes, query: '', signature: header, receivedAt: new Date(now * 1000) }, receiver);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a signed body that is not a Stripe event is recorded as unrecognized, never refused nor thrown', () => {
    fc.assert(
      fc.property(fc.json(), (json) => {
        const header = stripeSignatureHeader(json, [secret], now);
        const result = handleStripeNotification({ body: Buffer.from(json), query: '', signature: header, receivedAt: new Date(now * 1000) }, receiver);
        expect(result.ok && result.notifications.length === 0 && result.ignoredKind === 'unrecognized').toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a signed event is accepted and its envelope read', () => {
    const event = stripeEventBody({ type: 'payment_intent.succeeded', id: 'evt_1', orderId: 'O-1', paymentIntent: 'pi_1', amount: 1200, created: now });
    const result = handleStripeNotification({ body: Buffer.from(event), query: '', signature: stripeSignatureHeader(event, [secret], now), receivedAt: new Date(now * 1000) }, receiver);
    expect(result).toEqual({
      ok: true,
      notifications: [
        {
          provider: 'stripe',
          format: 'event',
          shopId: 'acct_1',
          mode: 'TEST',
          orderId: 'O-1',
          transactionId: 'pi_1',
          status: 'captured',
          statusRaw: 'payment_intent.succeeded',
          operation: 'debit',
          operationRaw: null,
          amount: 1200,
          currency: 'EUR',
          sequenceNumber: null,
          paymentConfig: null,
          source: null,
          eventTime: new Date(now * 1000).toISOString(),
          eventId: 'evt_1',
          failureIsFinal: true,
        },
      ],
    });
  });
});
