import { parseFormBody } from '../lib/form-body';

/** Field names whose values are secrets or tokens: never shown, whatever they look like. */
const SECRET_NAME = /signature|hash|password|secret|token|alias|cvv|cvc|cavv|cryptogram|identifier|(^|[-_])key$|(^|[-_])payment_?method$/i;
/** A buyer's postal address lines and bank identifier: never shown. */
const ADDRESS_NAME = /address|street|(^|[-_])line_?[1-3]$|postal|(^|[-_])zip|(^|[-_])bic$|swift/i;
/** A buyer's names: the initial only. */
const PERSON_NAME = /(^|[-_])((first|last|full|given|family|card_?holder|holder)_?)?name$|(first|last)Name$|holderName$/i;
/** Phone numbers: the last two digits only. */
const PHONE_NAME = /phone|mobile|(^|[-_])tel$|cell/i;
/** A buyer's IP address: its first part only. */
const IP_NAME = /(^|[-_])ip(_?address)?$|ipAddress$|client_ip/i;
/** An IBAN written anywhere: its country and last four characters stay. */
const IBAN = /\b([A-Z]{2})\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
/** Field names that hold dates and times: long digit runs there are timestamps, not cards. */
const TIME_NAME = /date|time/i;
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;
const DIGIT_RUN = /\d(?:[ -]?\d){12,}/g;

export const REDACTED = '[redacted]';

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Whether some 13 to 19 digits in a row pass the Luhn check. Every window is tried: a card number
 * written next to other digits ("ref 1 4970…") must not hide in a longer run that fails as a whole.
 * Masking a harmless long number now and then is the price.
 */
function holdsCardNumber(digits: string): boolean {
  for (let length = 13; length <= Math.min(19, digits.length); length++) {
    for (let start = 0; start + length <= digits.length; start++) if (luhnValid(digits.slice(start, start + length))) return true;
  }
  return false;
}

/** What a field's name says it holds, masked for that; null when the name says nothing. */
function maskByName(value: string, name: string): string | null {
  if (SECRET_NAME.test(name) || ADDRESS_NAME.test(name)) return REDACTED;
  if (PERSON_NAME.test(name)) return `${[...value.trim()][0] ?? ''}.`;
  if (PHONE_NAME.test(name)) return value.replace(/\d(?=(?:\D*\d){2})/g, '•');
  if (IP_NAME.test(name)) return value.replace(/^([0-9a-f]+)[.:].*$/i, '$1.…');
  return null;
}

/**
 * A field's value as the audit API and the logs may show it: masked by what its name says it is
 * (secrets, tokens, addresses, names, phones, IP addresses), and by what it looks like wherever it
 * is (e-mails keep their first character and domain, card numbers and IBANs their last four).
 */
export function maskText(value: string, name = ''): string {
  if (value === '') return value;
  const byName = maskByName(value, name);
  if (byName !== null) return byName;
  const withoutEmails = value
    .replace(EMAIL, (match, domain: string) => `${match[0] ?? ''}…@${domain}`)
    .replace(IBAN, (match, country: string) => `${country}…${match.replace(/ /g, '').slice(-4)}`);
  if (TIME_NAME.test(name)) return withoutEmails;
  return withoutEmails.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/[ -]/g, '');
    return holdsCardNumber(digits) ? `${'*'.repeat(digits.length - 4)}${digits.slice(-4)}` : run;
  });
}

/** Masks every string of a parsed JSON value, by its own key and content. */
export function maskJson(value: unknown, name = ''): unknown {
  if (typeof value === 'string') return maskText(value, name);
  if (typeof value === 'number' && !TIME_NAME.test(name) && /^\d{13,19}$/.test(String(value))) return maskText(String(value), name);
  if (Array.isArray(value)) return value.map((item) => maskJson(item, name));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, maskJson(inner, key)]));
  }
  return value;
}

export type MaskedBody = { fields: Record<string, unknown> } | { json: unknown } | { unreadable: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A stored body masked by what it is: a JSON body (Stripe) field by field at every depth, anything
 * else as a form. A JSON body is never shown as one field whose name is the whole document.
 */
export function maskStoredBody(body: Uint8Array, contentType: string | null): MaskedBody {
  const first = body.find((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09);
  const looksJson = first === 0x7b || first === 0x5b || (contentType ?? '').toLowerCase().includes('json');
  if (!looksJson) return maskRawBody(body);
  try {
    return { json: maskJson(JSON.parse(utf8.decode(body))) };
  } catch {
    // Unreadable JSON (a forged or cut body): shown as text, masked by what it looks like.
    return { unreadable: maskText(Buffer.from(body).toString('utf8').slice(0, 2000)) };
  }
}

/**
 * The fields of a stored form body, masked. A field holding a JSON object (Lyra's `kr-answer`)
 * is shown parsed, so its own fields are masked one by one.
 */
export function maskRawBody(body: Uint8Array): MaskedBody {
  const parsed = parseFormBody(body);
  if (!parsed.ok) return { unreadable: parsed.reason };
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed.fields)) {
    fields[name] = SECRET_NAME.test(name) ? maskText(value, name) : maskJson(parseJsonObject(value) ?? value, name);
  }
  return { fields };
}

function parseJsonObject(value: string): object | undefined {
  if (!value.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}
