import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config';
import { createApp } from './http/app';
import { BackgroundWrites } from './http/background-writes';
import { createMetrics, registerOutboxGauges, registerPaylineFetchGauges, registerReconcileGauge, type Metrics } from './metrics';
import { createRelay, type Relay } from './outbox/relay';
import { createLogger } from './log';
import { openDatabase, type DatabaseHandle } from './store/database';
import { migrateToLatest } from './store/migrate';
import { outboxStats, queueStats } from './store/outbox';
import { scheduleRetention } from './store/housekeeping';
import { checkReadiness } from './store/readiness';
import { startPaylineFetcher, PAYLINE_FETCHES, type PaylineFetcher } from './outbound/payline-fetcher';
import { createProviders, type Providers } from './ingest/providers';
import { payboxOperationsFor } from './ingest/paybox-direct';
import { createOrderChecker } from './ingest/reconcile';
import { RECONCILE_WORKER, startReconciler } from './outbound/reconcile-worker';
import { oldestPendingCheckAgeSeconds } from './store/reconcile';

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
      { lyraShops: [...(config.lyra?.shops.keys() ?? [])], payboxSites: [...(config.paybox?.sites.keys() ?? [])] },
      'DEMO CONFIGURATION: no provider is configured, so test shops are, and loopback may call /ipn/lyra and /ipn/paybox (Paybox trusting the simulator key); without API_TOKENS, the audit API takes the demo operator token from loopback. Never use this in production: set LYRA_SHOPS or PAYBOX_SITES.',
    );
  }
  if (config.databaseUrl === undefined && config.production) {
    logger.warn({ dataDir: config.dataDir }, 'embedded PostgreSQL in production: DATA_DIR holds every record, so back it up (pg_dump), or set DATABASE_URL for a PostgreSQL server of your own');
  }

  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize, writeBatches: config.databaseWriteBatches, statementTimeoutMs: config.ipnDeadlineMs, logger });
  const applied = await migrateToLatest(database.db);
  logger.info({ database: database.kind, applied }, 'database ready');
  const retention = config.retentionDays > 0 ? scheduleRetention(database, config.retentionDays, logger) : undefined;

  const metrics = createMetrics();
  registerOutboxGauges(metrics.registry, () => outboxStats(database.db));
  if (config.payline !== undefined) registerPaylineFetchGauges(metrics.registry, () => queueStats(database.db, 'payline_fetches'));
  const relay = await startRelay(config, database, logger, metrics);
  const providers = createProviders(config, () => metrics.paylineFetchesRefused.inc());
  const paylineFetcher = await startDeferredFetches(config, database, providers, logger);
  const background = new BackgroundWrites();
  const payboxOperations = payboxOperationsFor(config.paybox, database);
  registerReconcileGauge(metrics.registry, () => oldestPendingCheckAgeSeconds(database.db));
  // Background work runs where the relay runs: not in a receiver-only process.
  const checkers = createOrderChecker({ database, payboxOperations, lyraShops: config.lyra?.shops, stripe: config.stripe, payline: providers.payline, afterS: config.reconcile.afterS, metrics, logger });
  const reconciler = config.role === 'receiver' ? null : await startReconciler(database, checkers, { ...RECONCILE_WORKER, config: config.reconcile }, logger, metrics);
  const app = createApp({ config, database, providers, logger, metrics, readiness: () => checkReadiness(database.db, 1000), background, payboxOperations, orderChecker: checkers.check });
  // Slow or stuck clients are cut before they can hold sockets for long: the timeouts are checked
  // every second (Node's default is every 30 s), and a connection cap protects the database pool.
  const server: Server = createServer(
    { headersTimeout: config.http.headersTimeoutMs, requestTimeout: config.http.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    app,
  );
  server.maxConnections = config.http.maxConnections;
  server.listen(config.port, config.host);
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
    logger.info({ signal }, 'shutting down: finishing in-flight requests and deliveries');
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    clearInterval(retention);
    void Promise.all([serverClosed, relay?.stop(), paylineFetcher?.stop(), reconciler?.stop()])
      .then(() => background.settled())
      .then(() => Promise.all([payboxOperations?.close(), checkers.close()]))
      .then(() => database.close())
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function startRelay(config: Config, database: DatabaseHandle, logger: Logger, metrics: Metrics): Promise<Relay | null> {
  if (config.role === 'receiver') return null;
  if (config.orderEvents === undefined) {
    logger.info('ORDER_EVENTS_URL is unset: no relay; order events stay in the outbox table for other consumers (Debezium, SQL)');
    return null;
  }
  const relay = createRelay(config.orderEvents, { db: database.db, listen: database.listen, logger, metrics });
  await relay.start();
  return relay;
}

/** Deferred Payline fetches run where background work runs: not in a receiver-only process. */
async function startDeferredFetches(config: Config, database: DatabaseHandle, providers: Providers, logger: Logger): Promise<PaylineFetcher | null> {
  if (config.role === 'receiver' || providers.payline === undefined) return null;
  return startPaylineFetcher(database, providers.payline, PAYLINE_FETCHES, logger);
}

main().catch((error: unknown) => {
  console.error('ipn-receiver: failed to start:', error);
  process.exit(1);
});
