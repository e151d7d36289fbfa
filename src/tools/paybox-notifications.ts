import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Builds Paybox IPNs as the platform sends them, signed with the project's simulator key pair
 * (`keys/paybox/`, generated for this project; nobody has the platform's private key). For the
 * simulator and the tests only: a production service never trusts the simulator key.
 */
export const SIMULATOR_PRIVATE_KEY_FILE = join(__dirname, '../../keys/paybox/simulator-private.pem');

export const DEFAULT_RETOUR = 'Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K';

export interface PayboxNotificationOptions {
  orderId: string;
  /** Five digits: 00000 paid, 001xx refused, 99999 pending… */
  error?: string;
  amount?: number;
  /** Transaction number S (default derived from the call number). */
  transaction?: string;
  /** Call number T: one per attempt. */
  call?: string;
  /** Authorisation number; default XXXXXX (test) on success, absent otherwise, as the platform does. */
  authorisation?: string | null;
  retour?: string;
  /** Merchant parameters of `PBX_REPONDRE_A`, before the returned variables (unsigned). */
  prefix?: string;
  privateKeyPem?: string;
}

/**
 * Encodes a value the way Paybox does: `%20` for a space, `@ / :` left literal, everything
 * else outside the unreserved set percent-encoded as UTF-8.
 */
export function payboxEncode(value: string): string {
  return encodeURIComponent(value).replace(/%40/g, '@').replace(/%2F/g, '/').replace(/%3A/g, ':');
}

/** The letters the builder fills, by letter. */
function valuesByLetter(o: PayboxNotificationOptions): Record<string, string | undefined> {
  const error = o.error ?? '00000';
  const call = o.call ?? '12345678';
  const success = error === '00000';
  const authorisation = o.authorisation === undefined ? (success ? 'XXXXXX' : undefined) : (o.authorisation ?? undefined);
  return {
    M: String(o.amount ?? 4990),
    R: o.orderId,
    A: authorisation,
    E: error,
    S: o.transaction ?? String(70000000 + (Number(call) % 10000000)),
    T: call,
  };
}

/** The raw query string (GET) or body (POST) of one IPN, signed over its exact bytes. */
export function payboxMessage(o: PayboxNotificationOptions): string {
  const retour = (o.retour ?? DEFAULT_RETOUR).split(';').map((entry) => entry.split(':') as [string, string]);
  const values = valuesByLetter(o);
  const signatureName = retour.find(([, letter]) => letter === 'K')?.[0] ?? 'Sign';
  const signed = retour
    .filter(([, letter]) => letter !== 'K' && values[letter] !== undefined)
    .map(([name, letter]) => `${name}=${payboxEncode(values[letter] as string)}`)
    .join('&');
  const key = o.privateKeyPem ?? readFileSync(SIMULATOR_PRIVATE_KEY_FILE, 'utf8');
  const signature = sign('sha1', Buffer.from(signed, 'latin1'), key).toString('base64');
  const message = `${signed}&${signatureName}=${encodeURIComponent(signature)}`;
  return o.prefix === undefined || o.prefix === '' ? message : `${o.prefix}&${message}`;
}
