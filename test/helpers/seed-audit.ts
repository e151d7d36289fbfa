import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/store/schema';

const STATUSES = ['pending', 'authorised', 'captured', 'accepted', 'refused', 'capture_failed', 'expired', 'cancelled', 'abandoned', 'unknown'];

/**
 * `count` notifications, calls and outbox events spread over 20 shops, count/2 orders, every
 * status (shop and status independent) and the last `count` minutes, one a minute in id order,
 * then ANALYZE: a table as the audit API meets it in production.
 */
export async function seedAuditTables(db: Kysely<Database>, count: number): Promise<void> {
  const statuses = sql.raw(`ARRAY[${STATUSES.map((s) => `'${s}'`).join(',')}]`);
  await sql`
    INSERT INTO notifications (dedup_key, provider, format, shop_id, mode, order_id, transaction_id, operation, status, status_raw, amount, currency, failure_is_final, outcome, created_at)
    SELECT 'seed-' || i, 'lyra', 'form', 'SHOP-' || (abs(hashtext('shop' || i)) % 20), 'PRODUCTION', 'ORD-' || (i / 2), md5(i::text), 'debit',
           (${statuses})[1 + abs(hashtext('status' || i)) % 10], upper((${statuses})[1 + abs(hashtext('status' || i)) % 10]), 1000 + i % 5000, 'EUR', true, 'applied',
           now() - (${count} - i) * interval '1 minute'
    FROM generate_series(1, ${count}) AS i`.execute(db);
  await sql`
    INSERT INTO deliveries (provider, origin, source_ip, content_type, raw_body, verdict, reason, http_status, reply, received_at)
    SELECT 'lyra', CASE WHEN i % 100 = 0 THEN 'replay' ELSE 'http' END, '194.50.38.' || (i % 250), 'application/x-www-form-urlencoded',
           convert_to('vads_order_id=ORD-' || (i / 2), 'UTF8'), CASE WHEN i % 50 = 0 THEN 'bad_signature' ELSE 'applied' END, NULL, 200, 'OK-applied', now() - (${count} - i) * interval '1 minute'
    FROM generate_series(1, ${count}) AS i`.execute(db);
  await sql`
    INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, state, created_at)
    SELECT md5('event' || i)::uuid, 'order', 'lyra:SHOP-' || (i % 20) || ':PRODUCTION:ORD-' || (i / 2), 'order.paid', '{}'::jsonb,
           CASE WHEN i % 1000 = 0 THEN 'dead' WHEN i % 100 = 0 THEN 'pending' ELSE 'delivered' END, now() - (${count} - i) * interval '1 minute'
    FROM generate_series(1, ${count}) AS i`.execute(db);
  await sql`
    INSERT INTO payment_methods (provider, shop_id, mode, token, customer_id, status_raw, card_brand, card_last4)
    SELECT 'lyra', 'SHOP-' || (i % 20), 'PRODUCTION', md5('token' || i), 'C-' || (i / 3), 'CREATED', 'CB', lpad((i % 10000)::text, 4, '0')
    FROM generate_series(1, ${count / 10}) AS i`.execute(db);
  await sql`
    INSERT INTO subscriptions (provider, shop_id, mode, subscription_id, token, status_raw, amount, currency)
    SELECT 'lyra', 'SHOP-' || (i % 20), 'PRODUCTION', 'SUB-' || i, md5('token' || i), 'CREATED', 1990, 'EUR'
    FROM generate_series(1, ${count / 10}) AS i`.execute(db);
  await sql`
    INSERT INTO subscription_payments (provider, shop_id, mode, subscription_id, token, recurrence_number, transaction_id, status, status_raw, amount, currency)
    SELECT 'lyra', 'SHOP-' || (i % 20), 'PRODUCTION', 'SUB-' || (i / 12), md5('token' || (i / 12)), i % 12, md5('installment' || i), 'captured', 'CAPTURED', 1990, 'EUR'
    FROM generate_series(12, ${count / 10 + 11}) AS i`.execute(db);
  await sql`ANALYZE`.execute(db);
}
