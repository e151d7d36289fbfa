import { sql, type Kysely } from 'kysely';

// The ingest write is one autocommit statement decided on state read earlier (or guessed for a new
// order). Its last expression calls this check after every part of the statement has run, so the
// whole statement rolls back when the state it was decided on has changed (40001: decide again) or
// when the reply deadline has passed (IR503: the caller has already answered 503).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE FUNCTION ipn_ingest_check(written boolean, deadline timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF NOT written THEN
    RAISE EXCEPTION 'the order or a notification changed since it was read' USING ERRCODE = 'serialization_failure';
  END IF;
  IF deadline IS NOT NULL AND clock_timestamp() > deadline THEN
    RAISE EXCEPTION 'the reply deadline passed before commit' USING ERRCODE = 'IR503';
  END IF;
  RETURN true;
END
$$`.execute(db);
}
