/** SQLSTATE of a write decided on state that has since moved: read and decide again. */
export const STATE_MOVED = '40001';
/** SQLSTATE of a write that reached the end of its statement past the reply deadline (migrations/0008), or was not sent for it. */
export const PAST_DEADLINE = 'IR503';

export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The write was decided on an order or notifications that have since changed: decide again on a fresh read. */
export const isStateMoved = (error: unknown): boolean => sqlStateOf(error) === STATE_MOVED;

/** The write reached its end past the reply deadline, or was not sent for it: it rolled back. */
export const isPastDeadline = (error: unknown): boolean => sqlStateOf(error) === PAST_DEADLINE;

/** SQLSTATE of a row that a unique constraint or index already holds. */
export const UNIQUE_VIOLATION = '23505';
export const isUniqueViolation = (error: unknown): boolean => sqlStateOf(error) === UNIQUE_VIOLATION;
