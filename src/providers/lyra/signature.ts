import { createHash, createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../lib/constant-time';
import type { LyraFormAlgorithm } from './shops';

/** The hashing Lyra signatures need, injected so the verifier stays a pure function. */
export interface LyraCryptoProvider {
  sha1Hex(message: string): string;
  hmacSha256(key: string, message: string, encoding: 'hex' | 'base64'): string;
}

export const nodeCryptoProvider: LyraCryptoProvider = {
  sha1Hex: (message) => createHash('sha1').update(message, 'utf8').digest('hex'),
  hmacSha256: (key, message, encoding) => createHmac('sha256', key).update(message, 'utf8').digest(encoding),
};

/**
 * The string Lyra signs: the values of every `vads_*` field (empty ones included), sorted by
 * field name in code-unit order (never locale order), joined by `+`, then `+` and the key.
 */
export function lyraFormSigningString(fields: Readonly<Record<string, string>>, key: string): string {
  const names = Object.keys(fields).filter((name) => name.startsWith('vads_')).sort();
  return names.map((name) => fields[name]).concat(key).join('+');
}

/** SHA-1 as lowercase hex (deprecated by Lyra), or HMAC-SHA-256 as Base64. */
export function computeLyraFormSignature(
  fields: Readonly<Record<string, string>>,
  key: string,
  algorithm: LyraFormAlgorithm,
  crypto: LyraCryptoProvider = nodeCryptoProvider,
): string {
  const message = lyraFormSigningString(fields, key);
  return algorithm === 'SHA-1' ? crypto.sha1Hex(message) : crypto.hmacSha256(key, message, 'base64');
}

/** Lowercase hex HMAC-SHA-256 of the exact `kr-answer` string, keyed with the REST password. */
export function computeLyraRestHash(krAnswer: string, password: string, crypto: LyraCryptoProvider = nodeCryptoProvider): string {
  return crypto.hmacSha256(password, krAnswer, 'hex');
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

const SHA1_SHAPE = /^[0-9a-fA-F]{40}$/;
const HMAC_SHAPE = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Check a form signature. A signature of the other algorithm's shape gets its own reason:
 * it means the shop's algorithm setting differs from the Lyra back office, a common mistake.
 */
export function verifyLyraFormSignature(
  fields: Readonly<Record<string, string>>,
  signature: string,
  key: string,
  algorithm: LyraFormAlgorithm,
  crypto: LyraCryptoProvider = nodeCryptoProvider,
): SignatureCheck {
  const expected = computeLyraFormSignature(fields, key, algorithm, crypto);
  if (constantTimeEqual(signature, expected)) return { ok: true };
  const other = algorithm === 'SHA-1' ? HMAC_SHAPE : SHA1_SHAPE;
  if (other.test(signature)) {
    return { ok: false, reason: `signature looks like ${algorithm === 'SHA-1' ? 'HMAC-SHA-256' : 'SHA-1'} but the shop is configured for ${algorithm}` };
  }
  return { ok: false, reason: 'signature does not match' };
}

export function verifyLyraRestHash(krAnswer: string, krHash: string, password: string, crypto: LyraCryptoProvider = nodeCryptoProvider): SignatureCheck {
  const expected = computeLyraRestHash(krAnswer, password, crypto);
  return constantTimeEqual(krHash.toLowerCase(), expected) ? { ok: true } : { ok: false, reason: 'kr-hash does not match' };
}
