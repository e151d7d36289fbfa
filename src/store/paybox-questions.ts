import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/**
 * The next Paybox Direct NUMQUESTION, from the database's sequence (migrations/0012_paybox_direct.ts): unique
 * across instances and restarts, never handed out twice. Raw SQL: Kysely has no builder for
 * `nextval`.
 */
export async function nextPayboxQuestion(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT nextval('paybox_direct_questions')::text AS n`.execute(db);
  return Number((rows[0] as { n: string }).n);
}
