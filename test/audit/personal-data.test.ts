import fc from 'fast-check';
import request from 'supertest';
import { encodeForm, lyraRestAnswer, lyraRestFields } from '../../src/tools/lyra-notifications';
import { payboxMessage } from '../../src/tools/paybox-notifications';
import { startFakePayline, type FakePayline } from '../../src/tools/fake-payline';
import { stripeEventBody, stripeSignatureHeader } from '../../src/tools/stripe-notifications';
import { AUDIT_TOKEN, createTestApp, HMAC_SHOP, recordedCalls, type TestApp } from '../helpers/app';
import { cardNumber } from '../helpers/cards';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { capturedLogs } from '../helpers/log-capture';
import { postLyra, sendForm } from '../helpers/lyra';
import { getPaybox, PAYBOX_ENV, SITE_QUERY } from '../helpers/paybox';
import { STRIPE_ENV, STRIPE_SECRET } from '../helpers/stripe';


/** One buyer's personal data, each value distinctive enough to be searched for in every answer. */
const buyer = fc.record({
  word: fc.stringMatching(/^[a-z]{7}$/),
  first: fc.stringMatching(/^Qz[a-z]{6}$/),
  last: fc.stringMatching(/^Qy[a-z]{6}$/),
  phone: fc.stringMatching(/^\+336\d{8}$/),
  pan: cardNumber(14, 14),
  iban: fc.stringMatching(/^FR76\d{23}$/),
  house: fc.integer({ min: 1, max: 999 }),
  ip: fc.integer({ min: 1, max: 254 }).map((n) => `198.51.100.${n}`),
  token: fc.stringMatching(/^[0-9a-f]{32}$/),
});
type Buyer = typeof buyer extends fc.Arbitrary<infer T> ? T : never;

const email = (b: Buyer) => `${b.word}.${b.last.toLowerCase()}@example.org`;
const street = (b: Buyer) => `${b.house} rue des ${b.word}s`;
/** What must never come back: each value whole (masking may keep a part, never the whole). */
const planted = (b: Buyer) => [email(b), b.first, b.last, b.phone, b.pan, b.iban, street(b), b.ip, b.token];

let database: TestDatabase;
let fake: FakePayline;
let t: TestApp;

beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakePayline();
  const merchant = { merchantId: 'm1', accessKey: 'access-key-1', environment: 'homologation', directoryUrl: fake.directoryUrl('m1'), defaultUrl: fake.endpointUrl('a') };
  t = createTestApp(database, { ...PAYBOX_ENV, ...STRIPE_ENV, PAYLINE_MERCHANTS: JSON.stringify([merchant]), AUDIT_API_TOKEN: AUDIT_TOKEN });
});
afterAll(async () => {
  await fake.close();
  await database.close();
});
beforeEach(() => database.reset());

async function sendEveryProvider(b: Buyer, n: number): Promise<void> {
  // Lyra, form: the buyer's fields as the platform returns them.
  await sendForm(t.app, {
    orderId: `PD-F-${n}`,
    status: 'AUTHORISED',
    extraFields: {
      vads_cust_email: email(b), vads_cust_first_name: b.first, vads_cust_last_name: b.last, vads_cust_phone: b.phone, vads_cust_cell_phone: b.phone,
      vads_cust_address: street(b), vads_cust_zip: '31670', vads_card_number: b.pan, vads_identifier: b.token, vads_cust_ip: b.ip, vads_ext_info_bank: `IBAN ${b.iban}`,
    },
  }).expect(200);
  // Lyra, REST: the same inside kr-answer.
  const answer = lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId: `PD-R-${n}`, status: 'AUTHORISED' });
  answer.customer = { email: email(b), reference: 'C-1', billingDetails: { firstName: b.first, lastName: b.last, phoneNumber: b.phone, address: street(b), zipCode: '31670' }, extraDetails: { ipAddress: b.ip } };
  const [tx] = answer.transactions as { paymentMethodToken?: string; transactionDetails: { cardDetails: Record<string, unknown> } }[];
  Object.assign(tx as object, { paymentMethodToken: b.token });
  (tx as { transactionDetails: { cardDetails: Record<string, unknown> } }).transactionDetails.cardDetails = { pan: b.pan, effectiveBrand: 'VISA' };
  await postLyra(t.app, encodeForm(lyraRestFields(JSON.stringify(answer), HMAC_SHOP.testPassword))).expect(200);
  // Paybox: merchant parameters of PBX_REPONDRE_A before the signed variables, by GET.
  await getPaybox(t.app, payboxMessage({ prefix: `${SITE_QUERY}&email=${encodeURIComponent(email(b))}&tel=${encodeURIComponent(b.phone)}`, orderId: `PD-P-${n}`, call: String(100 + n) })).expect(200);
  // Stripe: the whole PaymentIntent, with its charges, billing and shipping details.
  const person = { name: `${b.first} ${b.last}`, email: email(b), phone: b.phone, address: { line1: street(b), postal_code: '31670', city: 'Labège', country: 'FR' } };
  const object = {
    id: `pi_${n}PD`, object: 'payment_intent', status: 'succeeded', amount: 4990, amount_received: 4990, currency: 'eur', metadata: { order_id: `PD-S-${n}` },
    receipt_email: email(b), shipping: { name: person.name, address: person.address, phone: b.phone },
    charges: { object: 'list', data: [{ id: `ch_${n}PD`, billing_details: person, payment_method_details: { card: { last4: b.pan.slice(-4) } }, client_ip: b.ip }] },
    payment_method: `pm_${b.token}`,
  };
  const event = stripeEventBody({ type: 'payment_intent.succeeded', object });
  await request(t.app).post('/ipn/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', stripeSignatureHeader(event, [STRIPE_SECRET])).send(event).expect(200);
  // A forged Stripe call carrying the same data is stored too (rejected, first 8 KiB).
  await request(t.app).post('/ipn/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', 't=1,v1=00').send(event).expect(401);
  // Payline: the trigger, with a parameter the merchant added to notificationURL.
  fake.results.set(b.token, { code: '00000', shortMessage: 'ACCEPTED', transactionId: `TX${n}`, amount: 990, currency: '978', action: '101', orderRef: `PD-L-${n}` });
  await request(t.app).get(`/ipn/payline?notificationType=WEBTRS&token=${b.token}&email=${encodeURIComponent(email(b))}`).expect(200);
}

/** Every answer of the audit API about what was stored. */
async function everyAuditAnswer(): Promise<string[]> {
  const get = (path: string) => request(t.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);
  const texts: string[] = [];
  for (const call of await recordedCalls(t, database)) texts.push((await get(`/deliveries/${call.id}`)).text);
  const notifications = await get('/notifications?limit=500');
  // Not /payment-methods: a saved token is shown there on purpose, for the merchant to charge it.
  texts.push(notifications.text, (await get('/deliveries?limit=500')).text);
  for (const n of notifications.body.data as { id: number; orderId: string }[]) texts.push((await get(`/notifications/${n.id}`)).text, (await get(`/orders/${encodeURIComponent(n.orderId)}`)).text);
  return texts;
}

describe('personal data planted in every provider and format', () => {
  it('no audit answer and no log line contains any of it', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(buyer, async (b) => {
        run++;
        await database.reset();
        const logsBefore = capturedLogs.length;
        await sendEveryProvider(b, run);
        const answers = await everyAuditAnswer();
        expect(answers.join('\n')).toContain(`PD-S-${run}`); // the answers were read, and are about these calls
        await new Promise((resolve) => setTimeout(resolve, 20));
        const seen = [...answers, ...capturedLogs.slice(logsBefore)].join('\n');
        for (const value of planted(b)) expect({ leaked: seen.includes(value) ? value : null }).toEqual({ leaked: null });
      }),
      { numRuns: 12 },
    );
  }, 120_000);

  it('a Stripe body is shown as its JSON, masked field by field; identifiers and amounts stay readable', async () => {
    const b = fc.sample(buyer, 1)[0] as Buyer;
    await sendEveryProvider(b, 1);
    const calls = await recordedCalls(t, database);
    const stripe = calls.find((c) => c.provider === 'stripe' && c.http_status === 200);
    const shown = await request(t.app).get(`/api/v1/deliveries/${stripe?.id}`).set('Authorization', `Bearer ${AUDIT_TOKEN}`);
    const object = shown.body.raw.json.data.object;
    expect(object).toMatchObject({ id: 'pi_1PD', amount: 4990, currency: 'eur', metadata: { order_id: 'PD-S-1' }, receipt_email: `${b.word[0]}…@example.org` });
    expect(object.charges.data[0].billing_details).toMatchObject({ name: `${b.first[0]}.`, address: { line1: '[redacted]', postal_code: '[redacted]', city: 'Labège', country: 'FR' } });
    expect(object.charges.data[0].billing_details.phone).toMatch(new RegExp(`${b.phone.slice(-2)}$`));
  });
});
