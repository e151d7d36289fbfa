import { createHmac } from 'node:crypto';

/**
 * Paybox Direct ("PPPS"), the server-to-server API: the questions the service asks and how it
 * reads the answers, as pure functions. The transport, the hosts and the failover are in
 * outbound/paybox-direct.ts.
 *
 * A question is a form-encoded POST of `NAME=value` pairs; the answer comes back in the same
 * format, in ISO-8859-1, and repeats SITE, RANG and NUMQUESTION "identiques à l'appel … Il est
 * conseillé de vérifier ces valeurs" (Paybox Direct integration page,
 * https://pppaybox.boutique-paybox.com/espace-integrateur-documentation/les-solutions-paybox-direct-et-paybox-direct-plus).
 * The answer is not signed: it is believed because it came over TLS from the host asked, and
 * only when its echo matches the question.
 */

/** `00103` Paybox Direct, `00104` Paybox Direct Plus: both carry the same fields for these questions. */
export type DirectVersion = '00103' | '00104';

/** The questions the service asks, by the TYPE the manual gives each. */
export const DIRECT_TYPES = { capture: '00002', cancel: '00005', refund: '00014', inquiry: '00017' } as const;
export type DirectOperation = keyof typeof DIRECT_TYPES;
/** Operations that change something at Paybox: never sent twice without an inquiry first. */
export type DirectWrite = Exclude<DirectOperation, 'inquiry'>;

/** NUMQUESTION is at most 10 digits and at most this value (2^31 − 1). */
export const MAX_QUESTION_NUMBER = 2_147_483_647;

/** A site as its Direct questions are signed. */
export interface DirectSite {
  site: string;
  rang: string;
  version: DirectVersion;
  /** The site's HMAC key, as the back office shows it: hexadecimal. */
  hmacKeyHex: string;
}

/** What the service needs to ask Paybox Direct about a site's transactions. */
export interface DirectAccess extends DirectSite {
  /** Hosts' full URLs, tried in this order on a technical failure. */
  urls: readonly string[];
}

export interface DirectQuestion {
  operation: DirectOperation;
  /** Unique per site, drawn from the database (store/paybox-questions.ts). */
  questionNumber: number;
  /** When it is asked: DATEQ, in Paris time as the official plugins write it. */
  at: Date;
  /** The transaction's numbers, from the notification: S is NUMTRANS, T is NUMAPPEL. */
  transactionNumber: string;
  callNumber: string;
  /** Minor units; required by capture, cancel and refund, absent from an inquiry. */
  amount?: number;
  /** ISO 4217 numeric (978 for EUR). */
  currencyNumeric?: string;
  /** The merchant's order reference (PBX_CMD). */
  reference?: string;
}

export interface SignedQuestion {
  /** The body to POST, `application/x-www-form-urlencoded`. */
  body: string;
  /** The fields as sent, HMAC last: what the audit trail keeps (the HMAC is not a secret). */
  fields: [string, string][];
}

/** HMAC-SHA-512, injected so that the question stays a pure function of its inputs. */
export type HmacSha512 = (keyHex: string, data: Buffer) => string;
export const nodeHmacSha512: HmacSha512 = (keyHex, data) => createHmac('sha512', Buffer.from(keyHex, 'hex')).update(data).digest('hex').toUpperCase();

export class DirectQuestionError extends Error {}

const pad = (value: number | string, width: number) => String(value).padStart(width, '0');

/** `ddmmyyyyHHMMSS` in Europe/Paris (the official plugins' `DateTime('now', 'Europe/Paris')`). */
export function formatDateq(at: Date): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.day}${parts.month}${parts.year}${parts.hour}${parts.minute}${parts.second}`;
}

/** The fields of a question, in the order they are signed and sent. */
export function questionFields(site: DirectSite, q: DirectQuestion): [string, string][] {
  if (!Number.isInteger(q.questionNumber) || q.questionNumber < 1 || q.questionNumber > MAX_QUESTION_NUMBER) throw new DirectQuestionError(`NUMQUESTION ${q.questionNumber} is not between 1 and ${MAX_QUESTION_NUMBER}`);
  if (!/^\d{1,10}$/.test(q.transactionNumber) || !/^\d{1,10}$/.test(q.callNumber)) throw new DirectQuestionError('the transaction (S) and call (T) numbers must be up to 10 digits');
  const fields: [string, string][] = [
    ['VERSION', site.version],
    ['TYPE', DIRECT_TYPES[q.operation]],
    ['SITE', pad(site.site, 7)],
    ['RANG', pad(site.rang, 3)],
    ['NUMQUESTION', pad(q.questionNumber, 10)],
    ['DATEQ', formatDateq(q.at)],
  ];
  if (q.operation !== 'inquiry') {
    if (q.amount === undefined || !Number.isInteger(q.amount) || q.amount < 1 || q.amount > 9_999_999_999) throw new DirectQuestionError('the amount must be a whole number of minor units, from 1 to 10 digits');
    if (q.currencyNumeric === undefined || !/^\d{3}$/.test(q.currencyNumeric)) throw new DirectQuestionError('the currency must be an ISO 4217 numeric code (978 for EUR)');
    // Kept ASCII: which character set Paybox reads a signed value in is not documented.
    if (q.reference === undefined || !/^[\x20-\x7e]{1,250}$/.test(q.reference)) throw new DirectQuestionError('the reference must be 1 to 250 printable ASCII characters');
    fields.push(['MONTANT', pad(q.amount, 10)], ['DEVISE', q.currencyNumeric], ['REFERENCE', q.reference]);
  }
  fields.push(['NUMTRANS', pad(q.transactionNumber, 10)], ['NUMAPPEL', pad(q.callNumber, 10)], ['HASH', 'SHA512']);
  return fields;
}

/**
 * Signs and encodes a question. The HMAC covers `NAME=value` joined by `&`, raw values, in the
 * order sent, HASH included (the official Up2pay and Verifone plugins' `hash_hmac('sha512', …,
 * pack('H*', key))`); HMAC goes last.
 */
export function signQuestion(site: DirectSite, q: DirectQuestion, hmac: HmacSha512 = nodeHmacSha512): SignedQuestion {
  const fields = questionFields(site, q);
  const signed = fields.map(([name, value]) => `${name}=${value}`).join('&');
  const all: [string, string][] = [...fields, ['HMAC', hmac(site.hmacKeyHex, Buffer.from(signed, 'latin1'))]];
  return { body: new URLSearchParams(all).toString(), fields: all };
}

/** What Paybox answered, decoded. `CODEREPONSE` `00000` is success. */
export interface DirectAnswer {
  code: string;
  comment: string;
  transactionNumber: string | null;
  callNumber: string | null;
  authorisation: string | null;
  /** Only in an inquiry's answer: the transaction's state, such as `Capturé` or `Remboursé`. */
  status: string | null;
  /** Every field as received. */
  fields: Record<string, string>;
}

export class DirectAnswerError extends Error {}

const FIELD_NAME = /^[A-Z0-9-]{1,32}$/;

/** `%XX` as a Latin-1 byte and `+` as a space, as the official plugins' PHP `parse_str` reads it. */
function decodeValue(value: string): string {
  return value.replace(/\+/g, ' ').replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** `'???'` and an empty value both mean "no value" (the manual's data dictionary for PAYS). */
const valueOrNull = (value: string | undefined): string | null => (value === undefined || value === '' || value === '???' ? null : value);

/**
 * Reads an answer's bytes: ISO-8859-1, `NAME=value` pairs split on `&` and on the first `=`.
 * Anything else (no CODEREPONSE, a name that is not a field's, a field twice) is not an answer.
 */
export function parseDirectAnswer(bytes: Buffer): DirectAnswer {
  const text = bytes.toString('latin1').trim();
  if (text === '') throw new DirectAnswerError('empty answer');
  const fields: Record<string, string> = {};
  for (const pair of text.split('&')) {
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    if (!FIELD_NAME.test(name)) throw new DirectAnswerError(`not a Paybox Direct answer: "${name.slice(0, 40)}" is not a field name`);
    if (Object.hasOwn(fields, name)) throw new DirectAnswerError(`field ${name} appears twice`);
    fields[name] = at < 0 ? '' : decodeValue(pair.slice(at + 1));
  }
  const code = fields.CODEREPONSE;
  if (code === undefined || !/^\d{5}$/.test(code)) throw new DirectAnswerError(code === undefined ? 'the answer has no CODEREPONSE' : `CODEREPONSE "${code.slice(0, 20)}" is not 5 digits`);
  return {
    code,
    comment: fields.COMMENTAIRE ?? '',
    transactionNumber: valueOrNull(fields.NUMTRANS),
    callNumber: valueOrNull(fields.NUMAPPEL),
    authorisation: valueOrNull(fields.AUTORISATION),
    status: valueOrNull(fields.STATUS),
    fields,
  };
}

/**
 * Whether an answer is the one to this question: SITE, RANG and NUMQUESTION repeated. Compared
 * as numbers: Paybox has been seen answering RANG `32` to `032`. Null when it is; else what differs.
 */
export function echoMismatch(question: SignedQuestion, answer: DirectAnswer): string | null {
  const sent = new Map(question.fields);
  for (const name of ['SITE', 'RANG', 'NUMQUESTION']) {
    const received = answer.fields[name];
    if (received === undefined || !/^\d{1,10}$/.test(received) || Number(received) !== Number(sent.get(name))) {
      return `${name} ${received === undefined ? 'missing' : `"${received.slice(0, 20)}"`} in the answer, ${sent.get(name) ?? ''} asked`;
    }
  }
  return null;
}

/**
 * What an answer's code asks of the caller:
 * - `ok`: done;
 * - `failover`: a technical failure Paybox says to try again on the secondary host (`00001`,
 *   `00003`: "il est souhaitable de faire une tentative sur le site secondaire"), or the
 *   connection errors the libraries treat the same way (`00097`, `00098`);
 * - `later`: `00099`, the question and answer do not match, "refaire une nouvelle tentative
 *   ultérieurement";
 * - `refused`: Paybox's answer to the request itself (an amount too high, a cancelled
 *   transaction, a bank's refusal): never sent again.
 */
export type CodeClass = 'ok' | 'failover' | 'later' | 'refused';

const FAILOVER_CODES = new Set(['00001', '00003', '00097', '00098']);

export function classifyCode(code: string): CodeClass {
  if (code === '00000') return 'ok';
  if (FAILOVER_CODES.has(code)) return 'failover';
  if (code === '00099') return 'later';
  return 'refused';
}

/** The inquiry's STATUS values the service reads (nexylan/paybox-direct `Status`), accents folded. */
export type InquiryState = 'autorise' | 'capture' | 'rembourse' | 'annule' | 'refuse';
const INQUIRY_STATES: readonly InquiryState[] = ['autorise', 'capture', 'rembourse', 'annule', 'refuse'];

/** An inquiry's STATUS read once Latin-1 decoded, compared without accents; null for any other value. */
export function inquiryState(status: string | null): InquiryState | null {
  if (status === null) return null;
  const folded = status.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  return INQUIRY_STATES.find((state) => state === folded) ?? null;
}

/**
 * Whether a write whose answer never came happened, from an inquiry's STATUS of its transaction:
 * a capture shows as captured (or refunded since), a cancel as cancelled, a refund as refunded.
 * Null when the status cannot tell: a refund on a transaction refunded before (the status does
 * not say how much), or a status the manual's list does not have.
 */
export function writeHappened(operation: DirectWrite, status: string | null, refundedBefore: boolean): boolean | null {
  const s = inquiryState(status);
  if (s === null) return null;
  if (operation === 'capture') return s === 'capture' || s === 'rembourse';
  if (operation === 'cancel') return s === 'annule';
  if (s !== 'rembourse') return false;
  return refundedBefore ? null : true;
}
