import { sql, type Kysely } from 'kysely';

// The URL query string of a call, exactly as received. Paybox sends its variables there by
// default (GET), and merchant parameters of a notification URL live there for every provider:
// replaying a call needs both it and the body.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE deliveries ADD COLUMN raw_query text`.execute(db);
}
