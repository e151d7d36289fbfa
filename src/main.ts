import type { Server } from 'node:http';
import { ConfigError, loadConfig, type Config } from './config';
import { createApp } from './http/app';
import { createMetrics } from './http/metrics';
import { createLogger } from './log';
import { openDatabase } from './store/database';
import { migrateToLatest } from './store/migrate';
import { checkReadiness } from './store/readiness';

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`ipn-receiver: invalid configuration: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  if (config.demoDefaults) {
    logger.warn(
      { shopId: [...config.lyra.shops.keys()], allowed: config.lyra.allowedCidrs },
      'DEMO CONFIGURATION: LYRA_SHOPS is unset, so the documentation test shop is configured and loopback may call /ipn/lyra. Never use this in production: set LYRA_SHOPS.',
    );
  }
  if (config.databaseUrl === undefined && config.production) {
    logger.warn({ dataDir: config.dataDir }, 'embedded database in production: one process only; set DATABASE_URL for PostgreSQL');
  }

  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize, statementTimeoutMs: config.ipnDeadlineMs, logger });
  const applied = await migrateToLatest(database.db);
  logger.info({ database: database.kind, applied }, 'database ready');

  const app = createApp({ config, db: database.db, logger, metrics: createMetrics(), readiness: () => checkReadiness(database.db, 1000) });
  const server: Server = app.listen(config.port, config.host);
  // Slow or stuck clients are cut before they can hold sockets for long.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  server.on('listening', () => logger.info({ host: config.host, port: config.port }, 'listening'));
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'server error');
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    server.close(() => {
      void database.close().then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('ipn-receiver: failed to start:', error);
  process.exit(1);
});
