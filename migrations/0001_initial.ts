import { sql, type Kysely } from 'kysely';

// One statement per entry: the embedded database's extended protocol runs one at a time.
const statements = [
  `
CREATE TABLE deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at   timestamptz NOT NULL DEFAULT now(),
  provider      text NOT NULL,
  origin        text NOT NULL DEFAULT 'http',
  request_id    text,
  source_ip     text NOT NULL,
  content_type  text,
  raw_body      bytea,
  verdict       text NOT NULL,
  reason        text,
  http_status   smallint NOT NULL,
  reply         text NOT NULL
)
  `,
  `
CREATE INDEX deliveries_received_at ON deliveries (received_at)
  `,
  `
CREATE TABLE orders (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider         text NOT NULL,
  shop_id          text NOT NULL,
  mode             text NOT NULL,
  order_id         text NOT NULL,
  status           text NOT NULL CHECK (status IN ('PENDING', 'PAID', 'FAILED', 'CANCELLED', 'REFUNDED')),
  paid_amount      bigint NOT NULL DEFAULT 0,
  refunded_amount  bigint NOT NULL DEFAULT 0,
  currency         text,
  abandoned        boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, shop_id, mode, order_id)
)
  `,
  `
CREATE TABLE notifications (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at        timestamptz NOT NULL DEFAULT now(),
  dedup_key         text NOT NULL UNIQUE,
  provider          text NOT NULL,
  format            text NOT NULL,
  shop_id           text NOT NULL,
  mode              text NOT NULL,
  order_id          text NOT NULL,
  transaction_id    text,
  operation         text NOT NULL,
  status            text NOT NULL,
  status_raw        text NOT NULL,
  amount            bigint,
  currency          text,
  sequence_number   integer,
  payment_config    text,
  source            text,
  event_time        timestamptz,
  failure_is_final  boolean NOT NULL,
  outcome           text,
  outcome_detail    text,
  order_ref         bigint REFERENCES orders (id)
)
  `,
  `
CREATE INDEX notifications_order ON notifications (provider, shop_id, order_id, id)
  `,
  `
CREATE INDEX notifications_transaction ON notifications (transaction_id, id) WHERE transaction_id IS NOT NULL
  `,
  `
CREATE TABLE delivery_notifications (
  delivery_id      bigint NOT NULL REFERENCES deliveries (id),
  notification_id  bigint NOT NULL REFERENCES notifications (id),
  outcome          text NOT NULL,
  PRIMARY KEY (delivery_id, notification_id)
)
  `,
  `
CREATE INDEX delivery_notifications_notification ON delivery_notifications (notification_id)
  `,
  `
CREATE TABLE transactions (
  provider              text NOT NULL,
  shop_id               text NOT NULL,
  mode                  text NOT NULL,
  transaction_id        text NOT NULL,
  order_ref             bigint NOT NULL REFERENCES orders (id),
  operation             text NOT NULL,
  status                text NOT NULL,
  status_raw            text NOT NULL,
  amount                bigint,
  currency              text,
  sequence_number       integer,
  payment_config        text,
  failure_is_final      boolean NOT NULL,
  last_notification_id  bigint NOT NULL REFERENCES notifications (id),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, shop_id, mode, transaction_id)
)
  `,
  `
CREATE INDEX transactions_order ON transactions (order_ref)
  `,
  `
-- Debezium outbox event router columns first; the relay's own columns after them.
CREATE TABLE outbox (
  id               uuid PRIMARY KEY,
  aggregatetype    varchar(255) NOT NULL,
  aggregateid      text NOT NULL,
  type             varchar(255) NOT NULL,
  payload          jsonb NOT NULL,
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  notification_id  bigint REFERENCES notifications (id),
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  delivered_at     timestamptz
)
  `,
  `
CREATE INDEX outbox_due ON outbox (next_attempt_at, seq) WHERE state = 'pending'
  `,
  `
CREATE INDEX outbox_aggregate_pending ON outbox (aggregateid, seq) WHERE state = 'pending'
  `,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
