import { TRANSACTION_STATUSES, type TransactionStatus } from '../domain/notification';
import type { PageRequest } from '../store/audit';
import type { OutboxState } from '../store/schema';
import { invalidParameter } from './problem';

type Query = Record<string, unknown>;

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const MAX_TEXT = 128;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A full ISO 8601 date-time with its offset, or a plain date (midnight UTC).
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Refuses parameters this route does not know: a typo must not silently widen a query. */
export function onlyKnown(query: Query, known: readonly string[]): void {
  for (const name of Object.keys(query)) if (!known.includes(name)) throw invalidParameter(name, `unknown parameter; expected one of ${known.join(', ')}`);
}

export function text(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParameter(name, 'must be given once');
  if (value === '' || value.length > MAX_TEXT) throw invalidParameter(name, `must be 1 to ${MAX_TEXT} characters`);
  // The database refuses a NUL in text, and no identifier holds a control character.
  if (CONTROL.test(value)) throw invalidParameter(name, 'must not contain control characters');
  if (LONE_SURROGATE.test(value)) throw invalidParameter(name, 'must be valid Unicode');
  return value;
}

export function oneOf<T extends string>(query: Query, name: string, allowed: readonly T[]): T | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw invalidParameter(name, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Date would roll 2026-02-30 over to March: refuse it instead. */
function realCalendarDay(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
}

export function time(query: Query, name: string): Date | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  const at = ISO_TIME.test(value) && realCalendarDay(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw invalidParameter(name, 'must be an ISO 8601 date or date-time with offset, such as 2026-11-23T10:00:00Z');
  return at;
}

export function positiveId(value: unknown, name: string): number {
  if (typeof value !== 'string' || !/^[1-9]\d{0,14}$/.test(value)) throw invalidParameter(name, 'must be a positive whole number');
  return Number(value);
}

export function uuid(value: unknown, name: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw invalidParameter(name, 'must be a UUID');
  return value.toLowerCase();
}

/** Cursors are opaque to clients: base64url of the last id seen. */
export function encodeCursor(next: number | null): string | null {
  return next === null ? null : Buffer.from(`v1:${next}`).toString('base64url');
}

export function page(query: Query): PageRequest {
  const rawLimit = text(query, 'limit');
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== undefined) {
    if (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT) throw invalidParameter('limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
    limit = Number(rawLimit);
  }
  const cursor = text(query, 'cursor');
  if (cursor === undefined) return { limit, before: undefined };
  const decoded = /^v1:([1-9]\d{0,14})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (decoded === null) throw invalidParameter('cursor', 'is not a cursor this API returned');
  return { limit, before: Number(decoded[1]) };
}

export function range(query: Query): { from: Date | undefined; to: Date | undefined } {
  const from = time(query, 'from');
  const to = time(query, 'to');
  if (from !== undefined && to !== undefined && from >= to) throw invalidParameter('to', 'must be after from');
  return { from, to };
}

export const transactionStatus = (query: Query): TransactionStatus | undefined => {
  const value = text(query, 'status')?.toLowerCase();
  if (value === undefined) return undefined;
  return oneOf({ status: value }, 'status', TRANSACTION_STATUSES);
};

export const OUTBOX_STATES: readonly OutboxState[] = ['pending', 'delivered', 'dead'];
