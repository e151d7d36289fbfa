import type { AppHandler } from '../../src/http/app';
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { createApp } from '../../src/http/app';
import { createProviders } from '../../src/ingest/providers';
import { payboxOperationsFor } from '../../src/ingest/paybox-direct';
import { createOrderChecker } from '../../src/ingest/reconcile';
import { BackgroundWrites } from '../../src/http/background-writes';
import { createMetrics, type Metrics } from '../../src/metrics';
import { checkReadiness } from '../../src/store/readiness';
import type { DatabaseHandle } from '../../src/store/database';
import { capturingLogger } from './log-capture';

/** Keys of the shops the tests configure; a test signs with these exactly as the platform would. */
export const HMAC_SHOP = {
  shopId: '12345678',
  algorithm: 'HMAC-SHA-256',
  testKey: 'TestKey-7c1f0a9e',
  productionKey: 'ProdKey-4b2d88e1',
  testPassword: 'testpassword_Zx9QpL3vT7mK2nR8',
  productionPassword: 'prodpassword_Qa1Ws2Ed3Rf4Tg5Y',
} as const;
export const SHA1_SHOP = { shopId: '87654321', algorithm: 'SHA-1', testKey: '1122334455667788' } as const;

/** The Lyra platform's documented range; tests arrive through a trusted loopback proxy. */
export const PLATFORM_IP = '194.50.38.42';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LYRA_SHOPS: JSON.stringify([HMAC_SHOP, SHA1_SHOP]),
    TRUST_PROXY: 'loopback',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

export interface TestApp {
  app: AppHandler;
  metrics: Metrics;
  config: Config;
  /** Audit records written after their reply: wait for them before counting records. */
  background: BackgroundWrites;
  /** Closes the Paybox Direct connections, when the configuration has some. */
  close(): Promise<void>;
}

export function createTestApp(database: DatabaseHandle, env: Record<string, string> = {}, logger: Logger = capturingLogger()): TestApp {
  const config = testConfig(env);
  const metrics = createMetrics();
  const background = new BackgroundWrites();
  const providers = createProviders(config, () => metrics.paylineFetchesRefused.inc());
  const payboxOperations = payboxOperationsFor(config.paybox, database);
  const checkers = createOrderChecker({ database, payboxOperations, lyraShops: config.lyra?.shops, stripe: config.stripe, payline: providers.payline });
  const app = createApp({ config, database, providers, logger, metrics, readiness: () => checkReadiness(database.db, 1000), background, payboxOperations, orderChecker: checkers.check });
  return { app, metrics, config, background, close: async () => void (await Promise.all([payboxOperations?.close(), checkers.close()])) };
}

/** Every call record, once those of rejections, which may be written after their replies, are in. */
export async function recordedCalls(t: TestApp, database: DatabaseHandle) {
  await t.background.settled();
  return database.db.selectFrom('deliveries').selectAll().orderBy('id').execute();
}
export const AUDIT_TOKEN = 'audit-token-0123456789abcdefghijklmnop';

/** The `ipn_not_applied_total` counter of one provider and kind. */
export async function notAppliedCount(t: TestApp, provider: string, kind: string): Promise<number> {
  const { values } = await t.metrics.ipnNotApplied.get();
  return values.find((v) => v.labels.provider === provider && v.labels.kind === kind)?.value ?? 0;
}
