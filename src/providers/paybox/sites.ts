import type { Mode } from '../../domain/notification';
import type { DirectAccess } from './direct';

/** The Paybox letters the receiver reads (Paybox's integration manual V8.0, `PBX_RETOUR`). */
export type PayboxLetter = 'M' | 'R' | 'E' | 'A' | 'S' | 'T' | 'W' | 'Q' | 'K';

/** A `PBX_RETOUR` value parsed: which variable name carries which letter, in the configured order. */
export interface PayboxReturnMapping {
  /** Variable names in the order Paybox sends them. */
  names: readonly string[];
  /** Letter → variable name, for every letter configured. */
  byLetter: ReadonlyMap<string, string>;
  /** The variable that carries the signature (letter K, always last). */
  signatureName: string;
}

export interface PayboxSite {
  /** `<site>-<rang>`: the shop id of its orders, and the `site` URL parameter that selects it. */
  id: string;
  site: string;
  rang: string;
  mode: Mode;
  /** ISO 4217 alpha-3: Paybox does not return the currency, so the site's is assumed. */
  currency: string;
  retour: PayboxReturnMapping;
  /**
   * `immediate`: a payment is captured by Paybox itself (the default); `deferred`: the site sends
   * `PBX_AUTOSEULE` or `PBX_DIFF`, so a success is an authorisation that Paybox Direct captures.
   * A notification says neither: the site's configuration does.
   */
  capture: 'immediate' | 'deferred';
  /** Paybox Direct for this site, when its HMAC key is configured. */
  direct: DirectAccess | null;
}

export interface PayboxSites {
  sites: ReadonlyMap<string, PayboxSite>;
  /** Public keys (PEM) of the platform; any one may verify, since the platform rotates keys. */
  publicKeys: readonly string[];
}

export class PayboxConfigError extends Error {}

const NAME = /^[A-Za-z0-9_]{1,32}$/;
const REQUIRED_LETTERS: readonly PayboxLetter[] = ['M', 'R', 'E', 'K'];

/**
 * Parses `PBX_RETOUR` (`Mt:M;Ref:R;…;Sign:K`). The signature must be last: variables after it
 * would arrive unsigned. Amount, reference and error code are required to decide anything, and
 * something that identifies the attempt: `S`/`T`, or the authorisation number `A` of a success.
 */
export function parsePayboxReturn(retour: string): PayboxReturnMapping {
  const names: string[] = [];
  const byLetter = new Map<string, string>();
  const entries = retour.split(';').filter((entry) => entry.trim() !== '');
  for (const entry of entries) {
    const [name, letter, ...rest] = entry.split(':').map((part) => part.trim());
    if (name === undefined || letter === undefined || rest.length > 0 || !NAME.test(name) || !/^[A-Za-z]$/.test(letter)) {
      throw new PayboxConfigError(`"${entry}" is not name:LETTER`);
    }
    if (names.includes(name)) throw new PayboxConfigError(`variable ${name} appears twice`);
    if (byLetter.has(letter)) throw new PayboxConfigError(`letter ${letter} appears twice`);
    names.push(name);
    byLetter.set(letter, name);
  }
  const missing = REQUIRED_LETTERS.filter((letter) => !byLetter.has(letter));
  if (missing.length > 0) throw new PayboxConfigError(`must return ${missing.join(', ')} (amount M, reference R, error E, signature K)`);
  const signatureName = byLetter.get('K') as string;
  if (names[names.length - 1] !== signatureName) throw new PayboxConfigError('the signature (K) must be the last variable: anything after it is not signed');
  if (!byLetter.has('S') && !byLetter.has('T') && !byLetter.has('A')) {
    throw new PayboxConfigError('must return the transaction and call numbers (add Trans:S;Appel:T before K), or at least the authorisation number (Auto:A): without them a payment cannot be told from another attempt');
  }
  return { names, byLetter, signatureName };
}
