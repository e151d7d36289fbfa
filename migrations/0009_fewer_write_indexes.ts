import { sql, type Kysely } from 'kysely';

// Every index costs each notification's write a B-tree insert and its WAL. Two served nothing
// another index does not serve as well:
// - notifications (provider, shop_id, order_id, id): the audit's order filter reads
//   notifications_order_id (order_id, id), and an order's notifications are read by order_ref;
// - outbox (aggregateid, seq) WHERE pending: the relay's "no earlier pending event of this order"
//   reads the few events of one order through outbox_aggregate (aggregateid, seq) as well.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX notifications_order`.execute(db);
  await sql`DROP INDEX outbox_aggregate_pending`.execute(db);
}
