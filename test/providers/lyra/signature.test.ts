import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { handleLyraNotification } from '../../../src/providers/lyra';
import type { LyraShop } from '../../../src/providers/lyra';
import {
  computeLyraFormSignature,
  computeLyraRestHash,
  lyraFormSigningString,
  verifyLyraFormSignature,
  verifyLyraRestHash,
  type LyraCryptoProvider,
} from '../../../src/providers/lyra/signature';
import { encodeForm, lyraRestFields, signLyraForm } from '../../../src/tools/lyra-notifications';

interface Vectors {
  lyra_form_sha1: { key: string; fields: Record<string, string>; signature: string };
  lyra_form_hmac: { key: string; fields: Record<string, string>; signature: string };
  lyra_rest_ipn: { password: string; fields: Record<string, string> };
}

// Where each vector came from: test/fixtures/README.md.
const vectors = JSON.parse(readFileSync(join(__dirname, '../../fixtures/vectors.json'), 'utf8')) as Vectors;

describe('Lyra form signature: documentation vectors', () => {
  it('SHA-1 example signs to the documented hex', () => {
    const v = vectors.lyra_form_sha1;
    expect(lyraFormSigningString(v.fields, v.key)).toBe('INTERACTIVE+1524+TEST+978+PAYMENT+SINGLE+12345678+20090501193530+654321+V2+1122334455667788');
    expect(computeLyraFormSignature(v.fields, v.key, 'SHA-1')).toBe(v.signature);
    expect(verifyLyraFormSignature(v.fields, v.signature, v.key, 'SHA-1')).toEqual({ ok: true });
  });

  it('HMAC-SHA-256 example signs to the documented Base64', () => {
    const v = vectors.lyra_form_hmac;
    expect(computeLyraFormSignature(v.fields, v.key, 'HMAC-SHA-256')).toBe(v.signature);
    expect(verifyLyraFormSignature(v.fields, v.signature, v.key, 'HMAC-SHA-256')).toEqual({ ok: true });
  });

  it('ignores fields that do not start with vads_ and keeps empty ones', () => {
    const v = vectors.lyra_form_sha1;
    const withExtras = { ...v.fields, signature: 'x', other: 'y' };
    expect(computeLyraFormSignature(withExtras, v.key, 'SHA-1')).toBe(v.signature);
    expect(computeLyraFormSignature({ ...v.fields, vads_extra_result: '' }, v.key, 'SHA-1')).not.toBe(v.signature);
  });

  it('names the algorithm mismatch when the signature has the other shape', () => {
    const v = vectors.lyra_form_sha1;
    const result = verifyLyraFormSignature(v.fields, v.signature, v.key, 'HMAC-SHA-256');
    expect(result).toEqual({ ok: false, reason: 'signature looks like SHA-1 but the shop is configured for HMAC-SHA-256' });
  });

  it('uses the injected crypto provider', () => {
    const calls: string[] = [];
    const crypto: LyraCryptoProvider = {
      sha1Hex: (m) => (calls.push(`sha1:${m}`), 'fixed'),
      hmacSha256: (k, m, e) => (calls.push(`hmac:${k}:${e}`), 'fixed'),
    };
    expect(computeLyraFormSignature({ vads_a: '1' }, 'k', 'SHA-1', crypto)).toBe('fixed');
    expect(computeLyraRestHash('{}', 'p', crypto)).toBe('fixed');
    expect(calls).toEqual(['sha1:1+k', 'hmac:p:hex']);
  });
});

describe('Lyra REST hash: vector', () => {
  const v = vectors.lyra_rest_ipn;

  it('verifies kr-hash over the exact kr-answer with the password', () => {
    expect(computeLyraRestHash(v.fields['kr-answer'] as string, v.password)).toBe(v.fields['kr-hash']);
    expect(verifyLyraRestHash(v.fields['kr-answer'] as string, v.fields['kr-hash'] as string, v.password)).toEqual({ ok: true });
  });

  it('accepts the posted vector end to end and normalizes it', () => {
    const shops = new Map<string, LyraShop>([['33148340', { shopId: '33148340', algorithm: 'HMAC-SHA-256', testPassword: v.password, apiUrl: 'https://api.payzen.eu' }]]);
    const result = handleLyraNotification(Buffer.from(encodeForm(v.fields)), shops);
    expect(result).toEqual({
      ok: true,
      notifications: [
        expect.objectContaining({
          format: 'rest',
          shopId: '33148340',
          mode: 'TEST',
          orderId: 'CMD-2026-0042',
          transactionId: '0f6b1e7a2c4d4e8f9a1b2c3d4e5f6a7b',
          status: 'authorised',
          statusRaw: 'AUTHORISED',
          operation: 'debit',
          amount: 4990,
          currency: 'EUR',
          sequenceNumber: 1,
          failureIsFinal: true,
          eventTime: '2026-03-02T10:15:00+00:00',
        }),
      ],
    });
  });

  it('rejects a re-serialized answer (hash is over the received string, not the JSON value)', () => {
    const reserialized = JSON.stringify(JSON.parse(v.fields['kr-answer'] as string), null, 1);
    expect(verifyLyraRestHash(reserialized, v.fields['kr-hash'] as string, v.password).ok).toBe(false);
  });
});

// Any value the platform could send: the characters that break naive parsers included.
const tricky = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '+', '&', '=', '%', '%20', 'a+b', 'a&b=c', '  lead', 'trail  ', 'é', 'Zoé L\'Hôpital', '😀', '\\/'),
);
const fieldName = fc.stringMatching(/^vads_[a-z][a-z_]{0,14}$/);
const fields = fc.dictionary(fieldName, tricky, { minKeys: 1, maxKeys: 12 });
const key = fc.stringMatching(/^[A-Za-z0-9]{8,32}$/);
const algorithm = fc.constantFrom('SHA-1' as const, 'HMAC-SHA-256' as const);

function shopsFor(k: string, alg: 'SHA-1' | 'HMAC-SHA-256'): Map<string, LyraShop> {
  return new Map([['11112222', { shopId: '11112222', algorithm: alg, testKey: k, testPassword: k, apiUrl: 'https://api.payzen.eu' }]]);
}

function notificationFields(extra: Record<string, string>): Record<string, string> {
  return { ...extra, vads_site_id: '11112222', vads_ctx_mode: 'TEST', vads_hash: 'h', vads_trans_status: 'AUTHORISED', vads_order_id: 'O-1', vads_trans_uuid: 'a'.repeat(32) };
}

describe('Lyra form signature: properties', () => {
  it('any values signed, URL-encoded and posted verify round-trip', () => {
    fc.assert(
      fc.property(fields, key, algorithm, (extra, k, alg) => {
        const body = Buffer.from(encodeForm(signLyraForm(notificationFields(extra), k, alg)));
        const result = handleLyraNotification(body, shopsFor(k, alg));
        expect(result.ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('changing any one value fails verification', () => {
    fc.assert(
      fc.property(fields, key, algorithm, fc.nat(), tricky, (extra, k, alg, pick, replacement) => {
        const signed = signLyraForm(notificationFields(extra), k, alg);
        const names = Object.keys(signed).filter((n) => n.startsWith('vads_'));
        const name = names[pick % names.length] as string;
        fc.pre(signed[name] !== replacement);
        const tampered = { ...signed, [name]: replacement };
        expect(verifyLyraFormSignature(tampered, signed.signature as string, k, alg).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a different key fails verification', () => {
    fc.assert(
      fc.property(fields, key, key, algorithm, (extra, k1, k2, alg) => {
        fc.pre(k1.trim() !== k2.trim());
        const signed = signLyraForm(notificationFields(extra), k1, alg);
        expect(verifyLyraFormSignature(signed, signed.signature as string, k2, alg).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('Lyra REST hash: properties', () => {
  const jsonText = fc.oneof(
    fc.json(),
    fc.jsonValue().map((v) => JSON.stringify(v, null, 2)),
    fc.string({ unit: 'grapheme' }).map((s) => JSON.stringify({ s, slash: 'a/b' }).replace(/\//g, '\\/')),
  );

  it('the hash of any answer text verifies after URL-encoding and parsing', () => {
    fc.assert(
      fc.property(jsonText, key, (answer, password) => {
        const posted = new URLSearchParams(encodeForm(lyraRestFields(answer, password)));
        expect(verifyLyraRestHash(posted.get('kr-answer') as string, posted.get('kr-hash') as string, password).ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('any change of the text or the password fails', () => {
    fc.assert(
      fc.property(jsonText, key, key, fc.string({ minLength: 1, maxLength: 3 }), (answer, p1, p2, suffix) => {
        const hash = computeLyraRestHash(answer, p1);
        expect(verifyLyraRestHash(answer + suffix, hash, p1).ok).toBe(false);
        if (p1 !== p2) expect(verifyLyraRestHash(answer, hash, p2).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
