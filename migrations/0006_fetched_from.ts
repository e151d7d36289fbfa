import { sql, type Kysely } from 'kysely';

// For a platform whose notification is only a trigger (Payline), the endpoint that answered the
// fetch of the result, and those that failed before it: the audit trail of the source failover.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE deliveries ADD COLUMN fetched_from text`.execute(db);
}
