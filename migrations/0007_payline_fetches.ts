import { sql, type Kysely } from 'kysely';

// Payline notifications whose result could not be fetched within the reply deadline: recorded and
// answered 2xx, then fetched by a worker until Payline answers. A queue is a table: retries and
// backoff are rows, not timers in memory.
const statements = [
  `CREATE TABLE payline_fetches (
    id bigserial PRIMARY KEY,
    merchant_id text NOT NULL,
    trigger_key text NOT NULL,
    raw_query text NOT NULL,
    delivery_id bigint NOT NULL REFERENCES deliveries (id),
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz
  )`,
  // One pending fetch per notification: Payline's repeats of a deferred one add nothing.
  `CREATE UNIQUE INDEX payline_fetches_pending ON payline_fetches (merchant_id, trigger_key) WHERE state = 'pending'`,
  `CREATE INDEX payline_fetches_due ON payline_fetches (next_attempt_at) WHERE state = 'pending'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
