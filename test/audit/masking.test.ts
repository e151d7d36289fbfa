import fc from 'fast-check';
import request from 'supertest';
import { maskJson, maskText, REDACTED } from '../../src/audit/mask';
import { encodeForm, lyraFormBody, lyraRestAnswer, lyraRestFields } from '../../src/tools/lyra-notifications';
import { AUDIT_TOKEN as TOKEN, createTestApp, HMAC_SHOP, type TestApp } from '../helpers/app';
import { cardNumber } from '../helpers/cards';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { postLyra } from '../helpers/lyra';



describe('masking', () => {
  it('keeps the last four digits of a card number, the first letter and domain of an e-mail, nothing of a secret', () => {
    expect(maskText('4970101234567893')).toBe('************7893');
    expect(maskText('card 4970 1012 3456 7893 used')).toBe('card ************7893 used');
    expect(maskText('497010XXXXXX0055')).toBe('497010XXXXXX0055');
    expect(maskText('order 123456789012')).toBe('order 123456789012'); // 12 digits: no card is that short
    expect(maskText('ref 1 4970101234567893 x')).toBe('ref *************7893 x');
    expect(maskText('20261123101500', 'vads_trans_date')).toBe('20261123101500');
    expect(maskText('Zoé <zoe.martin+shop@example.fr>')).toBe('Zoé <z…@example.fr>');
    expect(maskText('abc', 'signature')).toBe(REDACTED);
    expect(maskText('abc', 'kr-hash')).toBe(REDACTED);
    expect(maskText('abc', 'vads_identifier')).toBe(REDACTED);
    expect(maskJson({ a: [{ pan: '4970101234567893', email: 'a@b.co' }], paymentMethodToken: 'tok' })).toEqual({ a: [{ pan: '************7893', email: 'a…@b.co' }], paymentMethodToken: REDACTED });
  });

  it('masks a field by what its name says it holds: names to their initial, phones to two digits, addresses, bank ids and tokens out, IP addresses to their first part', () => {
    expect(maskText('Zoé', 'vads_cust_first_name')).toBe('Z.');
    expect(maskText('Jeanne Martin', 'name')).toBe('J.');
    expect(maskJson({ billingDetails: { firstName: 'Jeanne', lastName: 'Martin' } })).toEqual({ billingDetails: { firstName: 'J.', lastName: 'M.' } });
    expect(maskText('+33 6 12 34 56 78', 'vads_cust_cell_phone')).toBe('+•• • •• •• •• 78');
    expect(maskText('12 rue des Lilas', 'vads_cust_address')).toBe(REDACTED);
    expect(maskJson({ address: { line1: '12 rue des Lilas', postal_code: '31670', city: 'Labège' } })).toEqual({ address: { line1: REDACTED, postal_code: REDACTED, city: 'Labège' } });
    expect(maskText('AGRIFRPP', 'bic')).toBe(REDACTED);
    expect(maskText('IBAN FR76 3000 6000 0112 3456 7890 189 paid')).toBe('IBAN FR…0189 paid');
    expect(maskText('198.51.100.7', 'client_ip')).toBe('198.…');
    expect(maskText('pm_1Abc', 'payment_method')).toBe(REDACTED);
    // Identifiers, amounts, statuses and dates stay readable.
    expect(maskJson({ id: 'pi_1', amount: 4990, status: 'succeeded', vads_order_id: 'CMD-1', created: 1700000000 })).toEqual({ id: 'pi_1', amount: 4990, status: 'succeeded', vads_order_id: 'CMD-1', created: 1700000000 });
  });

  it('never lets a card number or e-mail through, whatever the text around it', () => {
    fc.assert(
      fc.property(cardNumber(), fc.emailAddress(), fc.string(), fc.string(), (pan, email, before, after) => {
        const masked = maskText(`${before} ${pan} ${email} ${after}`);
        expect(masked).not.toContain(pan);
        expect(masked).not.toContain(email);
      }),
      { numRuns: 500 },
    );
  });
});

describe('no secret in any response of the audit API', () => {
  let database: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await openTestDatabase();
    t = createTestApp(database, { AUDIT_API_TOKEN: TOKEN });
  });
  afterAll(() => database.close());

  const everyResponse = async (orderId: string): Promise<string> => {
    const get = (path: string) => request(t.app).get(`/api/v1${path}`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
    const list = (await get(`/notifications?orderId=${orderId}`)).body as { data: { id: number }[] };
    const calls = (await get('/deliveries?limit=2')).body as { data: { id: number }[] };
    const texts = [JSON.stringify(list), JSON.stringify(calls), (await get(`/orders/${orderId}`)).text, (await get('/outbox?limit=5')).text];
    for (const n of list.data) texts.push((await get(`/notifications/${n.id}`)).text);
    for (const c of calls.data) texts.push((await get(`/deliveries/${c.id}`)).text);
    return texts.join('\n');
  };

  it('form and REST notifications carrying full card numbers and e-mails', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(cardNumber(), fc.emailAddress(), async (pan, email) => {
        const orderId = `MASK-${run++}`;
        const formBody = lyraFormBody({ shopId: HMAC_SHOP.shopId, orderId, status: 'AUTHORISED', extraFields: { vads_card_number: pan, vads_cust_email: email, vads_identifier: 'alias-ab12cd34' } }, HMAC_SHOP.testKey);
        await postLyra(t.app, formBody).expect(200);
        const answer = lyraRestAnswer({ shopId: HMAC_SHOP.shopId, orderId, status: 'CAPTURED', transactionUuid: `rest${run}`.padEnd(32, '0') });
        const withCard = JSON.parse(JSON.stringify(answer).replace('497010XXXXXX0055', pan).replace('buyer@example.com', () => JSON.stringify(email).slice(1, -1))) as object;
        const restFields = lyraRestFields(JSON.stringify(withCard), HMAC_SHOP.testPassword);
        await postLyra(t.app, encodeForm(restFields)).expect(200);

        const everything = await everyResponse(orderId);
        const formSignature = new URLSearchParams(formBody).get('signature') as string;
        for (const secret of [pan, email, formSignature, restFields['kr-hash'] as string, 'alias-ab12cd34', HMAC_SHOP.testKey, HMAC_SHOP.testPassword, HMAC_SHOP.productionKey, TOKEN]) {
          expect({ leaked: everything.includes(secret) ? secret : null }).toEqual({ leaked: null });
        }
        expect(everything).toContain(pan.slice(-4));
      }),
      { numRuns: 15 },
    );
  });
});
