/** Verdicts and the reply contract: what each outcome is answered, however the call came. */
import type { NotificationOutcome } from '../domain/decide';
import type { RejectionVerdict } from '../providers/types';

/** `deferred`: recorded, the result to be fetched from the platform later (Payline). */
export type Verdict = NotificationOutcome | RejectionVerdict | 'forbidden_source' | 'too_large' | 'unsupported_media_type' | 'deferred';

/** The reply contract (README, "What each reply means"): 2xx means "we have it and its effect is recorded"; anything else makes the platform retry or warn. */
const STATUS: Readonly<Record<Verdict, number>> = {
  applied: 200,
  duplicate: 200,
  stale: 200,
  unknown_status: 200,
  deferred: 200,
  forbidden_source: 403,
  bad_signature: 401,
  unknown_shop: 401,
  malformed: 400,
  too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
};

const LABEL: Readonly<Record<Verdict, string>> = {
  applied: 'applied',
  duplicate: 'duplicate',
  stale: 'ignored, stale',
  unknown_status: 'recorded, not applied',
  deferred: 'recorded, result to be fetched',
  forbidden_source: 'forbidden source address',
  bad_signature: 'authentication failed',
  unknown_shop: 'authentication failed',
  malformed: 'malformed notification',
  too_large: 'body too large',
  unsupported_media_type: 'unsupported content type',
  unavailable: 'temporarily unavailable, not recorded, retry later',
};

/** The platform keeps the first 200 bytes of a reply in its transaction history. */
export const REPLY_MAX_BYTES = 200;

export function statusOf(verdict: Verdict): number {
  return STATUS[verdict];
}

// Control characters and line separators would break the one-line reply.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes - 3) break;
    out += char;
    bytes += size;
  }
  return `${out}...`;
}

/** One line, `OK-` for a 2xx and `KO-` otherwise, at most 200 bytes of UTF-8. */
export function replyLine(verdict: Verdict, detail?: string): string {
  const prefix = statusOf(verdict) < 300 ? 'OK-' : 'KO-';
  const line = detail === undefined || detail === '' ? `${prefix}${LABEL[verdict]}` : `${prefix}${LABEL[verdict]}: ${detail}`;
  return truncateUtf8(line.replace(UNSAFE, ' '), REPLY_MAX_BYTES);
}
