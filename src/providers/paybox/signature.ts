import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** RSA verification, injected so the verifier stays a pure function. */
export interface PayboxCryptoProvider {
  verifyRsaSha1(data: Buffer, signature: Buffer, publicKey: KeyObject): boolean;
}

export const nodePayboxCrypto: PayboxCryptoProvider = {
  verifyRsaSha1: (data, signature, publicKey) => {
    try {
      return verify('sha1', data, publicKey, signature);
    } catch {
      // A signature of the wrong size for the key is simply not a valid signature.
      return false;
    }
  },
};

/** Parses PEM public keys once, at start-up; a key that does not parse is a configuration error. */
export function parsePayboxPublicKeys(pems: readonly string[]): KeyObject[] {
  return pems.map((pem) => {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`expected an RSA public key, got ${key.asymmetricKeyType ?? 'unknown'}`);
    return key;
  });
}

export interface SignedMessage {
  /** The exact bytes Paybox signed: the returned variables, still URL-encoded, up to `&<K>=`. */
  signed: string;
  /** The signature, URL-decoded and Base64-decoded. */
  signature: Buffer;
  /** The merchant's own query parameters before the returned variables (never signed). */
  prefix: string;
}

export type SplitResult = { ok: true; message: SignedMessage } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Cuts a raw query string or body into what is signed and the signature, without ever
 * re-encoding anything: Paybox encodes a space as `%20` but leaves `@ / :` literal, so a string
 * rebuilt from parsed values would not be the signed one (Paybox's integration manual V8.0, "signature électronique").
 *
 * The signed part starts at the first returned variable; merchant parameters that
 * `PBX_REPONDRE_A` carried come before it and are not signed. The signature is the last variable.
 */
export function splitPayboxMessage(raw: string, firstName: string, signatureName: string): SplitResult {
  const marker = `&${signatureName}=`;
  const at = raw.lastIndexOf(marker);
  if (at < 0) return { ok: false, reason: `signature variable ${signatureName} missing` };
  const encodedSignature = raw.slice(at + marker.length);
  if (encodedSignature.includes('&')) return { ok: false, reason: `variables after ${signatureName} are not signed` };

  const start = startOfVariable(raw, firstName);
  if (start < 0 || start > at) return { ok: false, reason: `first returned variable ${firstName} missing` };
  let decoded: string;
  try {
    decoded = decodeURIComponent(encodedSignature);
  } catch {
    return { ok: false, reason: `${signatureName} is not URL-encoded Base64` };
  }
  if (!BASE64.test(decoded)) return { ok: false, reason: `${signatureName} is not URL-encoded Base64` };
  return { ok: true, message: { signed: raw.slice(start, at), signature: Buffer.from(decoded, 'base64'), prefix: start === 0 ? '' : raw.slice(0, start - 1) } };
}

function startOfVariable(raw: string, name: string): number {
  if (raw.startsWith(`${name}=`)) return 0;
  const at = raw.indexOf(`&${name}=`);
  return at < 0 ? -1 : at + 1;
}

/** RSA-SHA1 (PKCS#1 v1.5) over the signed bytes; any configured key may verify. */
export function verifyPayboxSignature(message: SignedMessage, keys: readonly KeyObject[], crypto: PayboxCryptoProvider = nodePayboxCrypto): boolean {
  // The signed part is URL-encoded, hence ASCII: latin1 maps it byte for byte.
  const data = Buffer.from(message.signed, 'latin1');
  return keys.some((key) => crypto.verifyRsaSha1(data, message.signature, key));
}
