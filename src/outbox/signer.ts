import { createHmac } from 'node:crypto';

/** HMAC-SHA-256 with a binary key, injected so the signer stays a pure function. */
export type HmacSha256 = (key: Uint8Array, message: string) => Buffer;

const nodeHmacSha256: HmacSha256 = (key, message) => createHmac('sha256', key).update(message, 'utf8').digest();

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class WebhookSecretError extends Error {}

/**
 * The key of a Standard Webhooks secret: `whsec_` followed by base64 (the prefix may be left
 * off). The specification asks for 24 to 64 bytes of key.
 */
export function parseWebhookSecret(secret: string): Buffer {
  const encoded = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : secret;
  if (encoded === '' || !BASE64.test(encoded)) throw new WebhookSecretError('must be "whsec_" followed by base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) throw new WebhookSecretError(`must decode to 24 to 64 bytes, got ${key.length}`);
  return key;
}

export interface WebhookMessage {
  /** Stable across retries: receivers deduplicate on it. */
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  /** The exact body bytes sent, as a string. */
  body: string;
}

/** The three Standard Webhooks headers for one attempt. */
export function signWebhook(message: WebhookMessage, key: Uint8Array, hmac: HmacSha256 = nodeHmacSha256): Record<string, string> {
  const signed = `${message.id}.${message.timestamp}.${message.body}`;
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': `v1,${hmac(key, signed).toString('base64')}`,
  };
}
