import type { NormalizedNotification, Provider } from '../domain/notification';
import type { Allowlist } from '../lib/cidr';
import type { WalletNotification } from '../domain/wallet';

/**
 * Why a provider refused a request; the HTTP layer maps each verdict to its status code. Only a
 * call not proved authentic is refused; `unavailable`: the platform must be asked and could not
 * be (Payline), so the notification is to be sent again.
 */
export type RejectionVerdict = 'malformed' | 'bad_signature' | 'unknown_shop' | 'unavailable';

export interface Rejection {
  verdict: RejectionVerdict;
  /** Short, exact, safe to show the platform: never a key or a computed signature. */
  reason: string;
}

/**
 * Why an authentic call applies nothing: it concerns no order (`not_for_orders`), it has a shape
 * the service does not read yet (`unrecognized`: a missing or unknown field), or it names what the
 * configuration lacks (`unconfigured`). Each is recorded and answered 2xx, never refused: a
 * refusal would only make the platform warn and retry, and the stored call can be replayed once
 * the service or its configuration knows better.
 */
export type NotAppliedKind = 'not_for_orders' | 'unrecognized' | 'unconfigured';

export type ProviderResult =
  /**
   * `notifications` concern orders, `wallet` a buyer's tokens and subscriptions. Neither means an
   * authentic call that applies nothing: `ignored` says why, `ignoredKind` what kind of why.
   */
  | { ok: true; notifications: NormalizedNotification[]; wallet?: WalletNotification[]; ignored?: string; ignoredKind?: NotAppliedKind; fetchedFrom?: string; deferred?: DeferredFetch }
  | { ok: false; rejection: Rejection };

export function reject(verdict: RejectionVerdict, reason: string): ProviderResult {
  return { ok: false, rejection: { verdict, reason } };
}

/** An authentic call recorded without effect: see `NotAppliedKind`. */
export function notApplied(reason: string, kind: NotAppliedKind): Extract<ProviderResult, { ok: true }> {
  return { ok: true, notifications: [], ignored: reason, ignoredKind: kind };
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
  /** The caller's address, for a provider whose calls cost a fetch (Payline); none on replay. */
  source?: string;
}

/** What the notification route needs of a provider: how it is called, its allowlist and its pure parser/verifier. */
export interface IpnProvider {
  name: Provider;
  /** GET carries the notification in the query string (Paybox's default), POST in the body. */
  methods: readonly ('GET' | 'POST')[];
  /** Media types of the body; the charset, when given, must be UTF-8. */
  contentTypes: readonly string[];
  /** Whether a POST without Content-Type is accepted (a platform that does not say). */
  contentTypeOptional: boolean;
  /** The header that carries the signature (lowercase), when the provider signs in a header. */
  signatureHeader?: string;
  /** Largest body, when the provider needs another limit than IPN_BODY_LIMIT_BYTES. */
  bodyLimitBytes?: number;
  allowlist: Allowlist;
  /** Pure for the signed platforms; Payline's fetches the result from the platform within the deadline. */
  handle(request: ProviderRequest): ProviderResult | Promise<ProviderResult>;
  /** The body sent for a reply line, when the platform wants another one (Paybox: an empty page on 2xx). */
  replyBody?(status: number, line: string): string;
}
