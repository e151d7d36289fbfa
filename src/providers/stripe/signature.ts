import { createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA-256, injected so the verifier stays a pure function (as in stripe-node). */
export interface StripeCryptoProvider {
  hmacSha256Hex(secret: string, parts: readonly (string | Uint8Array)[]): string;
}

export const nodeStripeCrypto: StripeCryptoProvider = {
  hmacSha256Hex: (secret, parts) => {
    const hmac = createHmac('sha256', secret);
    for (const part of parts) hmac.update(part);
    return hmac.digest('hex');
  },
};

export interface StripeSignatureHeader {
  timestamp: number;
  /** Every `v1` entry: two during a secret roll. Other schemes (the test-mode `v0`) are ignored. */
  v1: string[];
}

export type HeaderParse = { ok: true; header: StripeSignatureHeader } | { ok: false; reason: string };

export function parseStripeSignatureHeader(header: string | null): HeaderParse {
  if (header === null || header.trim() === '') return { ok: false, reason: 'Stripe-Signature header missing' };
  let timestamp: number | undefined;
  const v1: string[] = [];
  for (const item of header.split(',')) {
    const equals = item.indexOf('=');
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1') v1.push(value);
  }
  if (timestamp === undefined) return { ok: false, reason: 'Stripe-Signature has no t= timestamp' };
  if (v1.length === 0) return { ok: false, reason: 'Stripe-Signature has no v1 signature' };
  return { ok: true, header: { timestamp, v1 } };
}

export type StripeCheck = { ok: true; secretIndex: number } | { ok: false; reason: string };

/**
 * The signature is HMAC-SHA-256, keyed with the whole `whsec_…` string, of `<t>.<raw body>`,
 * the body's exact bytes. Any `v1` may match any secret (rotation). The timestamp must be within
 * the tolerance of the time the call was received, in the future as well as in the past: Stripe's
 * own library accepts any future time, which would let a captured request be held back and used
 * later.
 */
export function verifyStripeSignature(
  body: Uint8Array,
  header: StripeSignatureHeader,
  secrets: readonly string[],
  receivedAtSeconds: number,
  toleranceSeconds: number,
  crypto: StripeCryptoProvider = nodeStripeCrypto,
): StripeCheck {
  const age = receivedAtSeconds - header.timestamp;
  if (age > toleranceSeconds) return { ok: false, reason: `timestamp is ${age} s old, tolerance ${toleranceSeconds} s` };
  if (-age > toleranceSeconds) return { ok: false, reason: `timestamp is ${-age} s in the future, tolerance ${toleranceSeconds} s` };
  const candidates = header.v1.map((hex) => (/^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : null));
  for (const [index, secret] of secrets.entries()) {
    const expected = Buffer.from(crypto.hmacSha256Hex(secret, [`${header.timestamp}.`, body]), 'hex');
    // Every candidate is compared, matched or not, so the time taken says nothing about which.
    let matched = false;
    for (const candidate of candidates) if (candidate !== null && timingSafeEqual(candidate, expected)) matched = true;
    if (matched) return { ok: true, secretIndex: index };
  }
  return { ok: false, reason: 'no v1 signature matches the endpoint secret(s)' };
}
