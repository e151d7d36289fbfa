import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../../src/store/database';
import { migrateToLatest } from '../../src/store/migrate';
import { EMBEDDED_TEST_SERVER_URL } from '../setup/embedded-server';

export interface TestDatabase extends DatabaseHandle {
  /** The PostgreSQL URL of this database, for another process. */
  url: string;
  /** Empty every table, keeping the schema. */
  reset(): Promise<void>;
}

/**
 * A real database for one test file: a fresh database (created here, dropped on close) on the
 * PostgreSQL server of `TEST_DATABASE_URL`, or else on the embedded PostgreSQL server that the
 * suite's global setup started (test/setup/embedded-server.ts).
 */
export async function openTestDatabase(options: { statementTimeoutMs?: number; adminUrl?: string; writeBatches?: number } = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? testServerUrl();
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  const name = `ipn_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const parsed = new URL(adminUrl);
  parsed.pathname = `/${name}`;
  const url = parsed.toString();
  const handle = await openDatabase({ url, dataDir: '', poolSize: 10, writeBatches: options.writeBatches ?? 1, statementTimeoutMs });
  await migrateToLatest(handle.db);
  return {
    ...handle,
    url,
    async close() {
      await handle.close();
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
    async reset() {
      await sql`TRUNCATE delivery_notifications, outbox, transactions, notifications, orders, deliveries, payment_methods, subscriptions, subscription_payments, operator_actions, direct_operations, expected_payments, reconcile_checks, reconcile_cursors RESTART IDENTITY CASCADE`.execute(handle.db);
      handle.notificationIds.forget();
      handle.orders.forget();
    },
  };
}

/** The server the test databases are made on: the PostgreSQL of `TEST_DATABASE_URL`, or the suite's embedded one. */
export function testServerUrl(): string {
  const url = process.env.TEST_DATABASE_URL || process.env[EMBEDDED_TEST_SERVER_URL];
  if (url === undefined || url === '') throw new Error(`no test database server: run the tests with npm test (its global setup starts the embedded PostgreSQL), or set TEST_DATABASE_URL`);
  return url;
}

/** Whether the suite runs on a PostgreSQL server of its own (TEST_DATABASE_URL), rather than the embedded one. */
export const onOwnServer = (): boolean => (process.env.TEST_DATABASE_URL ?? '') !== '';

/**
 * Runs `work` on the database a spawned service uses: the test's PostgreSQL database, or else the
 * embedded PostgreSQL of its data folder, attached for the call (the service may be running).
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
