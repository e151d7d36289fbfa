import { sql, type Kysely } from 'kysely';

// Captures, refunds and cancels asked of Paybox Direct, one row per idempotency key: a repeat
// finds the first one's result, and a write is never sent twice for one key. `result` is null
// while the question is out; one operation at a time per order (the partial unique index), so
// two operators' refunds cannot both pass the check against what is left to refund.
const statements = [
  `CREATE TABLE direct_operations (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    provider text NOT NULL,
    shop_id text NOT NULL,
    mode text NOT NULL,
    order_id text NOT NULL,
    idempotency_key text NOT NULL,
    operation text NOT NULL,
    transaction_id text NOT NULL,
    amount bigint NOT NULL,
    token_name text NOT NULL,
    result text,
    code text,
    comment text,
    answered_by text,
    reason text,
    delivery_id bigint,
    order_status text,
    UNIQUE (provider, shop_id, idempotency_key)
  )`,
  `CREATE UNIQUE INDEX direct_operations_in_flight ON direct_operations (provider, shop_id, mode, order_id) WHERE result IS NULL`,
  // What the order's checks read: the writes whose outcome is not known yet.
  `CREATE INDEX direct_operations_order ON direct_operations (provider, shop_id, mode, order_id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
