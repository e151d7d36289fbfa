import type { NormalizedNotification } from '../domain/notification';

/** Why a provider refused a request; the HTTP layer maps each verdict to its status code. */
/** `unavailable`: the platform must be asked and could not be (Payline): the notification is to be sent again. */
export type RejectionVerdict = 'malformed' | 'bad_signature' | 'unknown_shop' | 'unavailable';

export interface Rejection {
  verdict: RejectionVerdict;
  /** Short, exact, safe to show the platform: never a key or a computed signature. */
  reason: string;
}

export type ProviderResult =
  /** No notifications means an authentic call about nothing an order cares about: `ignored` says why. */
  | { ok: true; notifications: NormalizedNotification[]; ignored?: string; fetchedFrom?: string; deferred?: DeferredFetch }
  | { ok: false; rejection: Rejection };

export function reject(verdict: RejectionVerdict, reason: string): ProviderResult {
  return { ok: false, rejection: { verdict, reason } };
}

/** A result to fetch later (Payline, when the platform could not answer within the deadline). */
export interface DeferredFetch {
  merchantId: string;
  /** `<notificationType>:<token or transaction id>`. */
  triggerKey: string;
  rawQuery: string;
}

/** What a provider reads of a request: the exact body bytes, the raw URL query string, its signature header. */
export interface ProviderRequest {
  body: Uint8Array;
  /** After `?`, exactly as received (not decoded); empty when there is none. */
  query: string;
  /** The provider's signature header (Stripe-Signature), when it signs in a header. */
  signature: string | null;
  /** When the call was received: signature timestamps are checked against it, on replay too. */
  receivedAt: Date;
  /** The reply deadline, for a provider that must call the platform back (Payline). */
  signal?: AbortSignal;
}
