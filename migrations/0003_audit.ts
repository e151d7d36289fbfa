import { sql, type Kysely } from 'kysely';

// Indexes for the audit API's filters and views (every documented filter has one, so lists stay
// index scans on millions of rows), and for the retention purge.
const statements = [
  `CREATE INDEX notifications_order_id ON notifications (order_id, id)`,
  `CREATE INDEX notifications_shop ON notifications (shop_id, id)`,
  `CREATE INDEX notifications_status ON notifications (status, id)`,
  `CREATE INDEX notifications_provider ON notifications (provider, id)`,
  `CREATE INDEX notifications_created_at ON notifications (created_at, id)`,
  `CREATE INDEX notifications_order_ref ON notifications (order_ref, id)`,
  `CREATE INDEX deliveries_provider ON deliveries (provider, id)`,
  `CREATE INDEX deliveries_verdict ON deliveries (verdict, id)`,
  `CREATE INDEX deliveries_origin ON deliveries (origin, id)`,
  // Only bodies still kept: the purge never walks what it already purged.
  `CREATE INDEX deliveries_raw_kept ON deliveries (received_at) WHERE raw_body IS NOT NULL`,
  `CREATE INDEX orders_order_id ON orders (order_id)`,
  `CREATE INDEX outbox_aggregate ON outbox (aggregateid, seq)`,
  `CREATE INDEX outbox_notification ON outbox (notification_id)`,
  `CREATE INDEX outbox_pending_seq ON outbox (seq) WHERE state = 'pending'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
