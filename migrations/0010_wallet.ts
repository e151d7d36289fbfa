import { sql, type Kysely } from 'kysely';

// A buyer's saved payment methods (tokens), subscriptions and the installments of each, as the
// platforms report them apart from orders. Current state only: the calls that said it are in
// deliveries, and what the merchant was told is in the outbox.
const statements = [
  `CREATE TABLE payment_methods (
    id bigserial PRIMARY KEY,
    provider text NOT NULL,
    shop_id text NOT NULL,
    mode text NOT NULL,
    token text NOT NULL,
    customer_id text,
    status_raw text NOT NULL,
    card_brand text,
    card_last4 text,
    card_expiry_month smallint,
    card_expiry_year smallint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, shop_id, mode, token)
  )`,
  // The audit API's lookups: by customer or token, newest first; a subscription by its id.
  `CREATE INDEX payment_methods_customer ON payment_methods (customer_id, id)`,
  `CREATE INDEX payment_methods_token ON payment_methods (token)`,
  // The platform does not make a subscription id unique: several may share one, each with its token.
  `CREATE TABLE subscriptions (
    id bigserial PRIMARY KEY,
    provider text NOT NULL,
    shop_id text NOT NULL,
    mode text NOT NULL,
    subscription_id text NOT NULL,
    token text NOT NULL DEFAULT '',
    customer_id text,
    status_raw text NOT NULL,
    amount bigint,
    currency text,
    rule text,
    effect_date text,
    initial_amount bigint,
    initial_amount_count integer,
    order_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, shop_id, mode, subscription_id, token)
  )`,
  `CREATE INDEX subscriptions_id ON subscriptions (subscription_id)`,
  // An installment may be reported for a subscription created before this service received any.
  `CREATE TABLE subscription_payments (
    provider text NOT NULL,
    shop_id text NOT NULL,
    mode text NOT NULL,
    subscription_id text NOT NULL,
    token text NOT NULL DEFAULT '',
    recurrence_number integer NOT NULL,
    transaction_id text,
    status text NOT NULL,
    status_raw text NOT NULL,
    amount bigint,
    currency text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, shop_id, mode, subscription_id, token, recurrence_number)
  )`,
  `CREATE INDEX subscription_payments_id ON subscription_payments (subscription_id, recurrence_number)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
