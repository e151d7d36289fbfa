import { sql, type Kysely } from 'kysely';

// The reconciliation's sweep also asks about orders whose latest attempt is not final (an
// authorisation that may yet expire uncaptured, a payment pending at the platform): it finds
// them by age through this index, which holds only such attempts.
const statements = [`CREATE INDEX transactions_unsettled ON transactions (updated_at) WHERE operation = 'debit' AND status IN ('pending', 'authorised', 'capture_failed')`];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
