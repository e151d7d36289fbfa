import { FieldError } from '../fields';
import { notApplied, reject, type ProviderRequest, type ProviderResult } from '../types';
import { normalizeStripeEvent, parseStripeEvent, type StripeEndpoint } from './events';
import { parseStripeSignatureHeader, verifyStripeSignature, type StripeCryptoProvider } from './signature';

export type { StripeEndpoint } from './events';
export { parseStripeSignatureHeader, verifyStripeSignature } from './signature';

export interface StripeReceiver {
  endpoints: readonly StripeEndpoint[];
  toleranceSeconds: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A Stripe webhook: the signature over the exact body bytes decides which endpoint it is for
 * (any secret of any configured endpoint may match), then the event is normalized.
 */
export function handleStripeNotification(request: ProviderRequest, receiver: StripeReceiver, crypto?: StripeCryptoProvider): ProviderResult {
  const parsed = parseStripeSignatureHeader(request.signature);
  if (!parsed.ok) return reject('bad_signature', parsed.reason);
  const receivedAt = Math.floor(request.receivedAt.getTime() / 1000);
  let endpoint: StripeEndpoint | undefined;
  let failure = 'no endpoint configured';
  for (const candidate of receiver.endpoints) {
    const check = verifyStripeSignature(request.body, parsed.header, candidate.secrets, receivedAt, receiver.toleranceSeconds, crypto);
    if (check.ok) {
      endpoint = candidate;
      break;
    }
    failure = check.reason;
  }
  if (endpoint === undefined) return reject('bad_signature', failure);

  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(request.body));
  } catch {
    return notApplied('body is not UTF-8 JSON', 'unrecognized');
  }
  try {
    const meaning = normalizeStripeEvent(parseStripeEvent(json), endpoint);
    return 'ignored' in meaning ? notApplied(meaning.ignored, 'not_for_orders') : { ok: true, notifications: meaning.notifications };
  } catch (error) {
    // Authentic: a field the service cannot read is recorded, not refused.
    if (error instanceof FieldError) return notApplied(error.message, 'unrecognized');
    throw error;
  }
}
