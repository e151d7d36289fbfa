import { sql, type Kysely } from 'kysely';

// The header that carries a platform's signature (Stripe-Signature), exactly as received: with
// the body, it lets a stored call be verified again, on replay.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE deliveries ADD COLUMN signature_header text`.execute(db);
}
