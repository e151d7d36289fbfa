import { attachEmbeddedPostgres } from '../src/store/embedded-postgres';
import { newDataDir, removeDataDir } from '../test/helpers/data-dir';
import { openTestDatabase, type TestDatabase } from '../test/helpers/database';

/** What a benchmark's figures were measured on, for its first line. */
export interface BenchDatabase extends TestDatabase {
  label: string;
}

/**
 * A fresh database for a benchmark: on the PostgreSQL server of BENCH_DATABASE_URL, or else on an
 * embedded PostgreSQL started for the run in a temporary data folder, stopped and removed on close.
 */
export async function openBenchDatabase(options: { statementTimeoutMs?: number } = {}): Promise<BenchDatabase> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? '';
  if (serverUrl !== '') return { ...(await openTestDatabase({ ...options, adminUrl: serverUrl })), label: `PostgreSQL at ${new URL(serverUrl).host}` };
  const dataDir = newDataDir('ipn-bench-');
  const server = await attachEmbeddedPostgres({ dataDir });
  const database = await openTestDatabase({ ...options, adminUrl: server.url });
  return {
    ...database,
    label: 'embedded PostgreSQL',
    async close() {
      await database.close();
      await server.detach();
      await removeDataDir(dataDir);
    },
  };
}
