import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../src/store/database';
import { migrateToLatest } from '../../src/store/migrate';

export interface TestDatabase extends DatabaseHandle {
  /** The PostgreSQL URL of this database, for another process; undefined on the embedded database. */
  url: string | undefined;
  /** Empty every table, keeping the schema. */
  reset(): Promise<void>;
}

/**
 * A real database for one test file: PGlite in memory by default, or a fresh database on the
 * PostgreSQL server of `TEST_DATABASE_URL` (created here, dropped on close).
 */
export async function openTestDatabase(options: { statementTimeoutMs?: number; adminUrl?: string; writeBatches?: number } = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? process.env.TEST_DATABASE_URL;
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  let handle: DatabaseHandle;
  let url: string | undefined;
  let dropDatabase = async (): Promise<void> => {};
  if (adminUrl !== undefined && adminUrl !== '') {
    const name = `ipn_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const parsed = new URL(adminUrl);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
    handle = await openDatabase({ url, dataDir: '', poolSize: 10, writeBatches: options.writeBatches ?? 1, statementTimeoutMs });
    dropDatabase = async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    };
  } else {
    handle = await openDatabase({ url: undefined, dataDir: 'memory://', poolSize: 1, statementTimeoutMs });
  }
  await migrateToLatest(handle.db);
  return {
    ...handle,
    url,
    async close() {
      await handle.close();
      await dropDatabase();
    },
    async reset() {
      await sql`TRUNCATE delivery_notifications, outbox, transactions, notifications, orders, deliveries, payment_methods, subscriptions, subscription_payments, operator_actions RESTART IDENTITY CASCADE`.execute(handle.db);
      handle.notificationIds.forget();
    },
  };
}

/**
 * Runs `work` on the database a spawned service uses: the test's PostgreSQL database, or else the
 * embedded data folder, opened (and migrated) only for the call, as the service must be down.
 */
export async function withServiceDatabase<T>(database: TestDatabase | null, dataDir: string, work: (handle: DatabaseHandle) => Promise<T>): Promise<T> {
  if (database !== null) return work(database);
  const handle = await openDatabase({ url: undefined, dataDir, poolSize: 1, statementTimeoutMs: 10_000 });
  try {
    await migrateToLatest(handle.db);
    return await work(handle);
  } finally {
    await handle.close();
  }
}
