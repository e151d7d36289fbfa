import { loadConfig } from '../config';
import { openDatabase } from '../store/database';
import { pendingMigrations } from '../store/migrate';
import { purgeRawBodies } from '../store/retention';

// `npm run purge`: empties the raw bodies older than RETENTION_DAYS once, as the service does hourly.
async function main(): Promise<void> {
  const config = loadConfig();
  if (config.retentionDays === 0) {
    console.log('RETENTION_DAYS=0: bodies are kept forever; nothing to purge');
    return;
  }
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, statementTimeoutMs: 60_000 });
  try {
    const pending = await pendingMigrations(database.db);
    if (pending.length > 0) throw new Error(`migrations pending (${pending.join(', ')}): start the service or run npm run migrate first`);
    const purged = await purgeRawBodies(database.db, config.retentionDays);
    console.log(`purged the raw bodies of ${purged} call(s) older than ${config.retentionDays} days`);
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(`purge failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
