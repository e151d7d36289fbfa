import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../store/database';
import { migrateToLatest } from '../store/migrate';

async function run(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 1, statementTimeoutMs: 60_000 });
  try {
    const applied = await migrateToLatest(database.db);
    console.log(applied.length === 0 ? `${database.kind} database: up to date` : `${database.kind} database: applied ${applied.join(', ')}`);
  } finally {
    await database.close();
  }
}

run().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `invalid configuration: ${error.message}` : error);
  process.exit(1);
});
