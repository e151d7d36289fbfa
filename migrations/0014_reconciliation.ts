import { sql, type Kysely } from 'kysely';

// The reconciliation worker's queue and the payments it is told to expect. A check is one
// question to a platform about one order: pending until answered, retried with backoff while the
// platform is down (attempts and next_attempt_at are data), then done, unchecked (the platform
// cannot be asked, and why) or dead. One open check per order.
const statements = [
  `CREATE TABLE expected_payments (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    provider text NOT NULL,
    shop_id text NOT NULL,
    mode text NOT NULL,
    order_id text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    expires_at timestamptz NOT NULL,
    UNIQUE (provider, shop_id, mode, order_id)
  )`,
  `CREATE INDEX expected_payments_created ON expected_payments (created_at)`,
  `CREATE TABLE reconcile_checks (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    provider text NOT NULL,
    shop_id text NOT NULL,
    mode text NOT NULL,
    order_id text NOT NULL,
    why text NOT NULL,
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until timestamptz,
    outcome text,
    detail text,
    changes integer NOT NULL DEFAULT 0,
    finished_at timestamptz
  )`,
  `CREATE UNIQUE INDEX reconcile_checks_open ON reconcile_checks (provider, shop_id, mode, order_id) WHERE state = 'pending'`,
  `CREATE INDEX reconcile_checks_due ON reconcile_checks (next_attempt_at) WHERE state = 'pending'`,
  // The sweep asks "checked lately?" of each candidate order.
  `CREATE INDEX reconcile_checks_order ON reconcile_checks (provider, shop_id, mode, order_id, created_at)`,
  // The sweep's candidates: pending orders by age.
  `CREATE INDEX orders_pending ON orders (updated_at) WHERE status = 'PENDING'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
