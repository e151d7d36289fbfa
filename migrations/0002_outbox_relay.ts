import { sql, type Kysely } from 'kysely';

// One statement per entry: the embedded database's extended protocol runs one at a time.
const statements = [
  // Who holds the current attempt (diagnostics) and when it started; attempts is the fence.
  `ALTER TABLE outbox ADD COLUMN claimed_by text`,
  `ALTER TABLE outbox ADD COLUMN last_attempt_at timestamptz`,
  `CREATE INDEX outbox_dead ON outbox (seq) WHERE state = 'dead'`,
  // A queue table: every attempt rewrites a row. Fresh statistics keep the claim on its index
  // order (a stale planner sorts the whole backlog instead), and vacuum keeps the partial indexes lean.
  `ALTER TABLE outbox SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05)`,
  // Wakes relays listening on "ipn_outbox" once per inserting statement, at commit.
  `
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ipn_outbox', '');
  RETURN NULL;
END
$$
  `,
  `CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
