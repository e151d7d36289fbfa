import type { KeyObject } from 'node:crypto';
import type { NormalizedNotification, TransactionStatus } from '../../domain/notification';
import { FieldError, optionalText, requireOrderId } from '../fields';
import { selectByParameter } from '../../lib/select-by-parameter';
import { notApplied, reject, type ProviderRequest, type ProviderResult } from '../types';
import { splitPayboxMessage, verifyPayboxSignature, type PayboxCryptoProvider } from './signature';
import type { PayboxSite } from './sites';
import { normalizePayboxError } from './statuses';
import { SITE_PARAMETER } from './config';

export { parsePayboxReturn, PayboxConfigError, type PayboxSite, type PayboxReturnMapping } from './sites';
export { parsePayboxPublicKeys, splitPayboxMessage, verifyPayboxSignature } from './signature';

export interface PayboxReceiver {
  sites: ReadonlyMap<string, PayboxSite>;
  keys: readonly KeyObject[];
}

/**
 * A Paybox / Up2pay IPN: the returned variables arrive in the query string (GET, the default) or
 * in the body (`PBX_RUF1=POST`). Verified over the exact bytes received, then normalized.
 */
export function handlePayboxNotification(request: Pick<ProviderRequest, 'body' | 'query'>, receiver: PayboxReceiver, crypto?: PayboxCryptoProvider): ProviderResult {
  const fromBody = request.body.length > 0;
  // latin1 maps bytes to code units one to one, so the signed bytes are recovered exactly.
  const raw = fromBody ? Buffer.from(request.body).toString('latin1') : request.query;
  if (raw === '') return reject('malformed', 'no variables in the query string nor in the body');
  const site = selectSite(request.query, receiver.sites);
  if (typeof site === 'string') return reject('unknown_shop', site);

  const split = splitPayboxMessage(raw, site.retour.names[0] as string, site.retour.signatureName);
  if (!split.ok) return reject(split.reason.startsWith('signature') ? 'bad_signature' : 'malformed', split.reason);
  if (!verifyPayboxSignature(split.message, receiver.keys, crypto)) return reject('bad_signature', 'signature does not verify with the Paybox public key(s)');

  try {
    const fields = parseSignedVariables(split.message.signed);
    return { ok: true, notifications: [normalizePaybox(fields, site)] };
  } catch (error) {
    // Authentic: a field the service cannot read is recorded, not refused.
    if (error instanceof FieldError) return notApplied(error.message, 'unrecognized');
    throw error;
  }
}

const selectSite = (query: string, sites: ReadonlyMap<string, PayboxSite>): PayboxSite | string =>
  selectByParameter(query, SITE_PARAMETER, sites, { noun: 'Paybox site', placeholder: '<site>-<rang>', url: 'PBX_REPONDRE_A' });

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-escapes decoded as UTF-8 when they are, else as ISO-8859-1; `+` stays literal (Paybox sends `%20`). */
function decodeValue(value: string, name: string): string {
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(value)) throw new FieldError(`${name} has a malformed percent-escape`);
  const bytes = Buffer.from(value.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** The signed variables by name; the signature proved them, the shape is checked here. */
function parseSignedVariables(signed: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const pair of signed.split('&')) {
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    if (fields.has(name)) throw new FieldError(`variable ${name.slice(0, 40)} is repeated`);
    fields.set(name, equals < 0 ? '' : decodeValue(pair.slice(equals + 1), name));
  }
  return fields;
}

function digits(value: string | undefined, name: string, max: number): string | null {
  if (value === undefined || value === '') return null;
  if (!new RegExp(`^\\d{1,${max}}$`).test(value)) throw new FieldError(`${name} is not a number`);
  return value;
}

const isNumber = (value: string | null): value is string => value !== null && !/^0+$/.test(value);

/**
 * Each attempt (up to three per payment page) has its own transaction number S and call number
 * T. A refused or abandoned attempt may carry `S=0`, so T stands in for it then. Without either
 * (a `PBX_RETOUR` of M, R, A, E and K, as older integrations send), a success is identified by
 * its authorisation number, which the bank gives each authorisation, and any other attempt by its
 * error code: a repeated IPN is then still a duplicate, and a refusal is an attempt of its own that
 * never un-pays a success. A timed-out page (abandoned) stays an order-level event.
 */
function attemptId(transaction: string | null, call: string | null, authorisation: string | null, status: TransactionStatus, code: string): string | null {
  if (isNumber(transaction)) return transaction;
  if (isNumber(call)) return `call-${call}`;
  if (status === 'authorised') return authorisation === null ? null : `auth-${authorisation}`;
  return status === 'abandoned' ? null : `error-${code}`;
}

function normalizePaybox(fields: ReadonlyMap<string, string>, site: PayboxSite): NormalizedNotification {
  const field = (letter: string): string | undefined => {
    const name = site.retour.byLetter.get(letter);
    return name === undefined ? undefined : fields.get(name);
  };
  const nameOf = (letter: string): string => site.retour.byLetter.get(letter) ?? letter;
  const code = field('E');
  if (code === undefined || !/^\d{5}$/.test(code)) throw new FieldError(`${nameOf('E')} (error code) is missing or not 5 digits`);
  const amount = digits(field('M'), nameOf('M'), 15);
  if (amount === null) throw new FieldError(`${nameOf('M')} (amount) is missing`);
  const authorisation = optionalText(field('A'), nameOf('A'), 64);
  const status = normalizePayboxError(code, authorisation, site.retour.byLetter.has('A'));
  const call = digits(field('T'), nameOf('T'), 20);
  return {
    provider: 'paybox',
    format: 'ipn',
    shopId: site.id,
    mode: site.mode,
    orderId: requireOrderId(field('R'), nameOf('R')),
    transactionId: attemptId(digits(field('S'), nameOf('S'), 20), call, authorisation, status, code),
    status,
    statusRaw: code,
    operation: 'debit',
    operationRaw: null,
    amount: Number(amount),
    currency: site.currency,
    sequenceNumber: null,
    paymentConfig: null,
    source: null,
    eventTime: null,
    // Up to three attempts per payment page: a refusal leaves the buyer another try.
    failureIsFinal: false,
    // What Paybox Direct is asked by, with S.
    ...(isNumber(call) ? { callNumber: call } : {}),
  };
}
