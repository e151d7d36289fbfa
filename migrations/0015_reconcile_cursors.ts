import { sql, type Kysely } from 'kysely';

// How far the reconciliation has read a platform's list of undelivered events (Stripe's Events
// API), per endpoint: the next sweep asks from there. `claimed_until` lets one worker at a time
// read an endpoint's list; another skips it until the claim expires.
const statements = [
  `CREATE TABLE reconcile_cursors (
    provider text NOT NULL,
    shop_id text NOT NULL,
    swept_until timestamptz NOT NULL,
    claimed_until timestamptz,
    PRIMARY KEY (provider, shop_id)
  )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
