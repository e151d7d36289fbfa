/** Field-shape checks shared by every provider's parser; each error names the field it refuses. */

export class FieldError extends Error {}

const ORDER_ID_MAX = 255;
const TRANSACTION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function requireText(value: unknown, name: string, max = 255): string {
  if (typeof value !== 'string' || value === '') throw new FieldError(`${name} is missing`);
  if (value.length > max) throw new FieldError(`${name} is longer than ${max} characters`);
  return value;
}

export function optionalText(value: unknown, name: string, max = 255): string | null {
  if (value === undefined || value === null || value === '') return null;
  return requireText(value, name, max);
}

export function requireOrderId(value: unknown, name: string): string {
  return requireText(value, name, ORDER_ID_MAX);
}

export function optionalTransactionId(value: unknown, name: string): string | null {
  const id = optionalText(value, name, 64);
  if (id !== null && !TRANSACTION_ID.test(id)) throw new FieldError(`${name} is not a transaction reference`);
  return id;
}

/** A non-negative integer given as digits (form) or as a JSON number (REST). */
export function optionalCount(value: unknown, name: string): number | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  throw new FieldError(`${name} is not a non-negative integer`);
}
