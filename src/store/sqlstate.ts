/** SQLSTATE of a write decided on state that has since moved: read and decide again. */
export const STATE_MOVED = '40001';
/** SQLSTATE of a write that reached the end of its statement past the reply deadline (migrations/0008), or was not sent for it. */
export const PAST_DEADLINE = 'IR503';

export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
