import { deliveryListQuery, notificationListQuery, paymentMethodListQuery, subscriptionQueries } from '../../src/store/audit';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { explain } from '../helpers/explain';
import { seedAuditTables } from '../helpers/seed-audit';

/**
 * The documented filters on 100,000 notifications, calls and events: every list query the API
 * runs is planned without a sequential scan.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase({ statementTimeoutMs: 120_000 });
  await seedAuditTables(database.db, 100_000);
}, 180_000);
afterAll(() => database.close());

const page = { limit: 50, before: undefined };
const later = { limit: 50, before: 60_000 };
const day = { from: new Date(Date.now() - 3 * 86_400_000), to: new Date(Date.now() - 2 * 86_400_000) };

describe('query plans on 100,000 rows', () => {
  it.each([
    ['orderId', { orderId: 'ORD-4242' }, 'notifications_order_id'],
    ['transactionId', { transactionId: 'c4ca4238a0b923820dcc509a6f75849b' }, 'notifications_transaction'],
  ])('notifications by %s: read through their own index', async (_name, filter, index) => {
    expect(await explain(database.db, notificationListQuery(database.db, filter, page))).toContain(index);
  });

  it.each([
    ['no filter', {}],
    ['orderId', { orderId: 'ORD-4242' }],
    ['transactionId', { transactionId: 'c4ca4238a0b923820dcc509a6f75849b' }],
    ['shopId', { shopId: 'SHOP-7' }],
    ['provider', { provider: 'lyra' }],
    ['status', { status: 'refused' as const }],
    ['from/to', day],
    ['shopId + status + from/to', { shopId: 'SHOP-7', status: 'refused' as const, ...day }],
  ])('notifications by %s: no sequential scan', async (_name, filter) => {
    for (const request of [page, later]) {
      const text = await explain(database.db, notificationListQuery(database.db, filter, request));
      expect(text).not.toMatch(/Seq Scan/);
    }
  });

  it.each([
    ['no filter', {}],
    ['provider', { provider: 'lyra' }],
    ['verdict', { verdict: 'bad_signature' }],
    ['origin', { origin: 'replay' }],
    ['from/to', day],
  ])('calls by %s: no sequential scan', async (_name, filter) => {
    expect(await explain(database.db, deliveryListQuery(database.db, filter, page))).not.toMatch(/Seq Scan/);
  });

  it.each(['pending', 'dead', 'delivered'] as const)('outbox events in state %s: no sequential scan', async (state) => {
    const query = database.db.selectFrom('outbox').select('id').where('state', '=', state).orderBy('seq', 'desc').limit(51);
    expect(await explain(database.db, query)).not.toMatch(/Seq Scan/);
  });

  it.each([
    ['customerId', { customerId: 'C-4242' }],
    ['token', { token: 'c4ca4238a0b923820dcc509a6f75849b' }],
  ])('payment methods by %s: no sequential scan', async (_name, filter) => {
    expect(await explain(database.db, paymentMethodListQuery(database.db, filter, page))).not.toMatch(/Seq Scan/);
  });

  it('a subscription and its installments are read through their indexes', async () => {
    const { subscriptions, installments } = subscriptionQueries(database.db, { subscriptionId: 'SUB-424' });
    for (const query of [subscriptions, installments]) expect(await explain(database.db, query)).not.toMatch(/Seq Scan/);
  });

  it('order view lookups use their indexes', async () => {
    const queries = [
      database.db.selectFrom('orders').selectAll().where('order_id', '=', 'ORD-4242'),
      database.db.selectFrom('notifications').select('id').where('order_ref', '=', 42),
      database.db.selectFrom('outbox').select('id').where('aggregateid', '=', 'lyra:SHOP-4:PRODUCTION:ORD-4242'),
      database.db.selectFrom('outbox').select('id').where('notification_id', '=', 42),
    ];
    for (const query of queries) expect(await explain(database.db, query)).not.toMatch(/Seq Scan on (notifications|outbox)/);
  });
});
