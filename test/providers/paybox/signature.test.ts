import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { handlePayboxNotification, parsePayboxPublicKeys, parsePayboxReturn, splitPayboxMessage, verifyPayboxSignature, type PayboxSite } from '../../../src/providers/paybox';
import { PAYBOX_PLATFORM_PUBLIC_KEY } from '../../../src/providers/paybox/platform-key';
import { payboxEncode, payboxMessage } from '../../../src/tools/paybox-notifications';

interface PayboxVectors {
  paybox_generated: { public_key_file: string; raw_query_or_body: string };
  paybox_real: { raw: string; valid: boolean; source: string }[];
  paybox_real_public_key_file: string;
}

// Where each vector came from: test/fixtures/README.md.
const vectorsDir = join(__dirname, '../../fixtures');
const vectors = JSON.parse(readFileSync(join(vectorsDir, 'vectors.json'), 'utf8')) as PayboxVectors;
const platformKeys = parsePayboxPublicKeys([readFileSync(join(vectorsDir, vectors.paybox_real_public_key_file), 'utf8')]);
const generatedKeys = parsePayboxPublicKeys([readFileSync(join(vectorsDir, vectors.paybox_generated.public_key_file), 'utf8')]);
const simulatorKeys = parsePayboxPublicKeys([readFileSync(join(__dirname, '../../../keys/paybox/simulator-public.pem'), 'utf8')]);

function site(retour: string): PayboxSite {
  return { id: '1999888-32', site: '1999888', rang: '32', mode: 'TEST', currency: 'EUR', retour: parsePayboxReturn(retour), capture: 'immediate', direct: null };
}

function verifies(raw: string, keys: readonly KeyObject[], first = 'Mt', signatureName = 'Sign'): boolean {
  const split = splitPayboxMessage(raw, first, signatureName);
  return split.ok && verifyPayboxSignature(split.message, keys);
}

describe('Paybox signature: real platform-signed messages', () => {
  it('the bundled platform key is the vectors key', () => {
    expect(parsePayboxPublicKeys([PAYBOX_PLATFORM_PUBLIC_KEY])[0]?.export({ type: 'spki', format: 'der' })).toEqual(platformKeys[0]?.export({ type: 'spki', format: 'der' }));
  });

  it.each(vectors.paybox_real.map((v) => [v.source, v.raw] as const))('%s verifies', (_source, raw) => {
    expect(verifies(raw, platformKeys)).toBe(true);
  });

  it('a changed reference no longer verifies', () => {
    const raw = (vectors.paybox_real[0] as { raw: string }).raw.replace('CMD1349338388', 'CMD1349338389');
    expect(verifies(raw, platformKeys)).toBe(false);
  });

  it('the real messages do not verify with another key', () => {
    for (const v of vectors.paybox_real) expect(verifies(v.raw, generatedKeys)).toBe(false);
  });
});

describe('Paybox signature: generated vectors', () => {
  const raw = vectors.paybox_generated.raw_query_or_body;

  it('verifies over the still-encoded bytes', () => {
    expect(verifies(raw, generatedKeys)).toBe(true);
  });

  it('a tampered amount fails', () => {
    expect(verifies(raw.replace('Mt=4990', 'Mt=4991'), generatedKeys)).toBe(false);
  });

  it('re-encoding %20 as + fails: the bytes, not the values, are signed', () => {
    expect(verifies(raw.replace(/%20/g, '+'), generatedKeys)).toBe(false);
    const reencoded = new URLSearchParams(raw.slice(0, raw.lastIndexOf('&Sign='))).toString();
    expect(verifies(`${reencoded}${raw.slice(raw.lastIndexOf('&Sign='))}`, generatedKeys)).toBe(false);
  });

  it('a merchant prefix is not signed: verifying the whole string fails, the signed part verifies', () => {
    const prefixed = `order=42&${raw}`;
    const whole = { signed: prefixed.slice(0, prefixed.lastIndexOf('&Sign=')), signature: Buffer.from(decodeURIComponent(raw.slice(raw.lastIndexOf('&Sign=') + 6)), 'base64'), prefix: '' };
    expect(verifyPayboxSignature(whole, generatedKeys)).toBe(false);
    const split = splitPayboxMessage(prefixed, 'Mt', 'Sign');
    expect(split.ok && split.message.prefix).toBe('order=42');
    expect(verifies(prefixed, generatedKeys)).toBe(true);
  });

  it('any of several keys may verify (key rotation)', () => {
    expect(verifies(raw, [...platformKeys, ...generatedKeys])).toBe(true);
  });
});

describe('Paybox message split', () => {
  it.each([
    ['Mt=1&Ref=A&Erreur=00000', 'signature variable Sign missing'],
    ['Mt=1&Ref=A&Erreur=00000&Sign=abc%3D&Extra=1', 'variables after Sign are not signed'],
    ['Ref=A&Erreur=00000&Sign=abc%3D', 'first returned variable Mt missing'],
    ['Mt=1&Ref=A&Sign=%ZZ', 'Sign is not URL-encoded Base64'],
    ['Mt=1&Ref=A&Sign=a b', 'Sign is not URL-encoded Base64'],
  ])('%s: %s', (raw, reason) => {
    expect(splitPayboxMessage(raw, 'Mt', 'Sign')).toEqual({ ok: false, reason });
  });

  it('a wrong-size signature is invalid, not an error', () => {
    expect(verifies('Mt=1&Ref=A&Erreur=00000&Sign=AAAA', platformKeys)).toBe(false);
  });
});

describe('Paybox signature: properties', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keys = [publicKey];
  const receiver = { sites: new Map([['1999888-32', site('Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K')]]), keys };
  const orderId = fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }).filter((s) => s.trim() !== '' && !/[\uD800-\uDFFF]/.test(s));

  it('every signed IPN verifies and decodes to its values, whatever the reference holds', () => {
    fc.assert(
      fc.property(orderId, fc.integer({ min: 0, max: 10_000_000 }), fc.constantFrom('00000', '00004', '00151', '99999'), (ref, amount, error) => {
        const raw = payboxMessage({ orderId: ref, amount, error, privateKeyPem: pem });
        const result = handlePayboxNotification({ body: Buffer.alloc(0), query: raw }, receiver);
        expect(result.ok).toBe(true);
        if (result.ok) {
          expect(result.notifications[0]?.orderId).toBe(ref);
          expect(result.notifications[0]?.amount).toBe(amount);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('changing any one character of the signed part breaks the signature', () => {
    fc.assert(
      fc.property(orderId, fc.nat(), fc.integer({ min: 0x21, max: 0x7e }), (ref, position, code) => {
        const raw = payboxMessage({ orderId: ref, privateKeyPem: pem });
        const end = raw.lastIndexOf('&K=');
        const at = position % end;
        fc.pre(raw.charCodeAt(at) !== code && raw[at] !== '&' && String.fromCharCode(code) !== '&');
        const tampered = raw.slice(0, at) + String.fromCharCode(code) + raw.slice(at + 1);
        const result = handlePayboxNotification({ body: Buffer.alloc(0), query: tampered }, receiver);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('arbitrary input is refused with a reason and never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), fc.uint8Array({ maxLength: 300 }), (query, body) => {
        const result = handlePayboxNotification({ body, query }, receiver);
        if (!result.ok) expect(result.rejection.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('Paybox encoding keeps @ / : literal and a space as %20', () => {
    expect(payboxEncode('Paiement pour a@b.fr 14/12/2022 13:13:45')).toBe('Paiement%20pour%20a@b.fr%2014/12/2022%2013:13:45');
  });

  it('the simulator key pair is consistent', () => {
    const raw = payboxMessage({ orderId: 'SIM-1' });
    expect(verifies(raw, simulatorKeys, 'Mt', 'Sign')).toBe(true);
  });
});
