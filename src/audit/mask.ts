import { parseFormBody } from '../lib/form-body';

/** Field names whose values are secrets or tokens: never shown, whatever they look like. */
const SECRET_NAME = /signature|hash|password|secret|token|cvv|cvc|cavv|cryptogram|identifier|(^|[-_])key$/i;
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

/** A card number keeps its last four digits; an e-mail keeps its first character and domain. */
export function maskText(value: string, name = ''): string {
  if (SECRET_NAME.test(name)) return value === '' ? value : REDACTED;
  const withoutEmails = value.replace(EMAIL, (match, domain: string) => `${match[0] ?? ''}…@${domain}`);
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

export type MaskedBody = { fields: Record<string, unknown> } | { unreadable: string };

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
