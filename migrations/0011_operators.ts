import { sql, type Kysely } from 'kysely';

// What operators did through the audit API (replays, retries, erasures): who (the token's name,
// never the token), when, to what, and how it went. Calls whose personal data was erased keep
// when that happened, so a replay can say why it has nothing to replay.
const statements = [
  `CREATE TABLE operator_actions (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    token_name text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    outcome text NOT NULL,
    detail text,
    source_ip text,
    request_id text
  )`,
  `ALTER TABLE deliveries ADD COLUMN erased_at timestamptz`,
  // A rejected call keeps only the start of its body; this is the length it had.
  `ALTER TABLE deliveries ADD COLUMN raw_length integer`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
