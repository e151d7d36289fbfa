import { sql } from 'kysely';
import { vacuumAnalyze } from '../../src/store/maintenance';
import { openTestDatabase, type TestDatabase } from '../helpers/database';
import { seedEvents } from '../helpers/outbox';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

it('vacuum and analyze give the planner statistics of the outbox', async () => {
  await seedEvents(database.db, 20, 10);
  await sql`UPDATE outbox SET state = 'delivered' WHERE seq % 2 = 0`.execute(database.db);
  await vacuumAnalyze(database.db);
  const { rows } = await sql<{ reltuples: number }>`SELECT reltuples::float8 AS reltuples FROM pg_class WHERE relname = 'outbox'`.execute(database.db);
  expect(rows[0]?.reltuples).toBe(200);
  const stats = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'outbox' AND attname = 'state'`.execute(database.db);
  expect(stats.rows[0]?.n).toBe(1);
});
