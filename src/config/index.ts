import { readFileSync } from 'node:fs';
import type { OperatorToken } from '../audit/tokens';
import { LOOPBACK_CIDRS } from '../lib/cidr';
import { ConfigError, parseVariable, type Env, type Variable } from '../lib/variables';
import { LYRA_VARIABLES, lyraConfig, type LyraConfig } from '../providers/lyra/config';
import { PAYBOX_VARIABLES, payboxConfig, payboxPublicKeys, type PayboxConfig } from '../providers/paybox/config';
import { PAYLINE_VARIABLES, paylineConfig, type PaylineConfig } from '../providers/payline/config';
import { STRIPE_VARIABLES, stripeConfig, type StripeConfig } from '../providers/stripe/config';
import { AUDIT_VARIABLES, operatorTokens } from './audit';
import { DATABASE_VARIABLES } from './database';
import { IPN_VARIABLES } from './ipn';
import { ORDER_EVENTS_VARIABLES, orderEventsConfig, type OrderEventsConfig } from './order-events';
import { RECONCILE_VARIABLES, reconcileConfig, type ReconcileConfig } from './reconcile';
import { SERVER_VARIABLES, type TrustProxy } from './server';

export { ConfigError } from '../lib/variables';
export { parseTrustProxy, type TrustProxy } from './server';
export type { OrderEventsConfig } from './order-events';
export type { LyraConfig, PayboxConfig, PaylineConfig, StripeConfig };
export { DEMO_LYRA_API_PORT, DEMO_LYRA_SHOP } from '../providers/lyra/config';
export { DEMO_PAYBOX_DIRECT_PORT, DEMO_PAYBOX_PUBLIC_KEY, DEMO_PAYBOX_SITE, PAYBOX_DEFAULT_CIDRS } from '../providers/paybox/config';
export { DEMO_OPERATOR_TOKEN } from './audit';
export { DEMO_STRIPE_ENDPOINT } from '../providers/stripe/config';
export { DEMO_PAYLINE_PORT } from '../providers/payline/config';

/** all: receiver and relay in one process; receiver: HTTP only; relay: delivery only. */
export type Role = 'all' | 'receiver' | 'relay';

export interface Config {
  production: boolean;
  role: Role;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolSize: number;
  /** Batches of ingest writes running at once on PostgreSQL. */
  databaseWriteBatches: number;
  /** Unset: no `/ipn/lyra` route. */
  lyra: LyraConfig | undefined;
  /** Unset: no `/ipn/paybox` route. */
  paybox: PayboxConfig | undefined;
  /** Unset: no `/ipn/stripe` route. */
  stripe: StripeConfig | undefined;
  /** Unset: no `/ipn/payline` route. */
  payline: PaylineConfig | undefined;
  trustProxy: TrustProxy;
  ipnDeadlineMs: number;
  ipnBodyLimitBytes: number;
  /** Rejected calls recorded per minute: from one source, and from all. */
  rejectedRecords: { perSource: number; total: number };
  http: { headersTimeoutMs: number; requestTimeoutMs: number; maxConnections: number };
  logLevel: string;
  /** `API_TOKENS` and `AUDIT_API_TOKEN`; none: the audit API is off (404). */
  operatorTokens: OperatorToken[];
  /** Raw bodies older than this are purged; 0 keeps them forever. */
  retentionDays: number;
  /** Unset: no relay; events stay in the outbox table for other consumers. */
  orderEvents: OrderEventsConfig | undefined;
  reconcile: ReconcileConfig;
  /** Development defaults were applied (demo shop, loopback allowed): warn loudly. */
  demoDefaults: boolean;
}

type Declared = Record<string, Variable<unknown>>;

/** Every variable, by area, in the order the documentation lists them. */
export const CONFIGURATION_AREAS: readonly { title: string; variables: Declared }[] = [
  { title: 'Process', variables: SERVER_VARIABLES },
  { title: 'Database', variables: DATABASE_VARIABLES },
  { title: 'Notification routes', variables: IPN_VARIABLES },
  { title: 'Lyra (PayZen, Systempay…)', variables: LYRA_VARIABLES },
  { title: 'Paybox / Up2pay e-Transactions', variables: PAYBOX_VARIABLES },
  { title: 'Stripe', variables: STRIPE_VARIABLES },
  { title: 'Monext Payline', variables: PAYLINE_VARIABLES },
  { title: 'Order events (the relay)', variables: ORDER_EVENTS_VARIABLES },
  { title: 'Reconciliation', variables: RECONCILE_VARIABLES },
  { title: 'Audit API', variables: AUDIT_VARIABLES },
];

/** Variables that hold secrets: each may also be given as a file, `<NAME>_FILE`, as Docker and Kubernetes mount secrets. */
export const SECRET_VARIABLES: readonly string[] = CONFIGURATION_AREAS.flatMap((area) => Object.values(area.variables).filter((v) => v.secret).map((v) => v.name));

/** The provider variables: in production, one of them must be set. */
const PROVIDER_VARIABLES = [LYRA_VARIABLES.shops, PAYBOX_VARIABLES.sites, STRIPE_VARIABLES.endpoints, PAYLINE_VARIABLES.merchants].map((v) => v.name);

/** The trimmed text of a variable, from `<NAME>_FILE` for a secret; undefined when unset or empty. */
function rawText(env: Env, name: string): string | undefined {
  const value = fromFile(env, name) ?? env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A secret's `<NAME>_FILE`, read at start-up; setting both is a mistake worth stopping for. */
function fromFile(env: Env, name: string): string | undefined {
  const path = SECRET_VARIABLES.includes(name) ? env[`${name}_FILE`]?.trim() : undefined;
  if (path === undefined || path === '') return undefined;
  if ((env[name]?.trim() ?? '') !== '') throw new ConfigError(name, `is set and so is ${name}_FILE: set only one`);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    throw new ConfigError(`${name}_FILE`, `cannot read ${path}`);
  }
}

/** Every variable of an area, parsed. */
function readArea<D extends Declared>(env: Env, variables: D): { [K in keyof D]: D[K]['fallback'] } {
  const values: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(variables)) values[key] = parseVariable(variable, rawText(env, variable.name));
  return values as { [K in keyof D]: D[K]['fallback'] };
}

const readText = (path: string): string => readFileSync(path, 'utf8');

export function loadConfig(env: Env = process.env): Config {
  const server = readArea(env, SERVER_VARIABLES);
  const production = server.nodeEnv === 'production';
  // With no provider configured, development gets a demo of each; production refuses to start.
  const demoDefaults = PROVIDER_VARIABLES.every((name) => rawText(env, name) === undefined);
  if (demoDefaults && production) {
    const others = PROVIDER_VARIABLES.slice(1);
    throw new ConfigError(PROVIDER_VARIABLES[0] as string, `is required in production (NODE_ENV=production) unless ${others.slice(0, -1).join(', ')} or ${others.at(-1)} is set: a JSON array of your Lyra shops and keys`);
  }
  const database = readArea(env, DATABASE_VARIABLES);
  if (server.requestTimeoutMs <= server.headersTimeoutMs) throw new ConfigError('HTTP_REQUEST_TIMEOUT_MS', `must be above HTTP_HEADERS_TIMEOUT_MS (${server.headersTimeoutMs})`);
  const ipn = readArea(env, IPN_VARIABLES);
  const demo = demoDefaults ? { loopback: LOOPBACK_CIDRS } : null;
  const paybox = readArea(env, PAYBOX_VARIABLES);
  return {
    production,
    role: server.role,
    port: server.port,
    host: server.host,
    databaseUrl: database.url,
    dataDir: database.dataDir,
    databasePoolSize: database.poolSize,
    databaseWriteBatches: database.writeBatches,
    lyra: lyraConfig(readArea(env, LYRA_VARIABLES), demo),
    paybox: payboxConfig({ ...paybox, publicKeys: payboxPublicKeys(paybox.publicKeys, readText) }, demo),
    stripe: stripeConfig(readArea(env, STRIPE_VARIABLES), demoDefaults),
    payline: paylineConfig(readArea(env, PAYLINE_VARIABLES), demoDefaults),
    trustProxy: server.trustProxy,
    ipnDeadlineMs: ipn.deadlineMs,
    ipnBodyLimitBytes: ipn.bodyLimitBytes,
    rejectedRecords: { perSource: ipn.rejectedPerSource, total: ipn.rejectedPerMinute },
    http: { headersTimeoutMs: server.headersTimeoutMs, requestTimeoutMs: server.requestTimeoutMs, maxConnections: server.maxConnections },
    logLevel: server.logLevel,
    operatorTokens: operatorTokens(readArea(env, AUDIT_VARIABLES), demoDefaults),
    retentionDays: database.retentionDays,
    orderEvents: orderEventsConfig(readArea(env, ORDER_EVENTS_VARIABLES)),
    reconcile: reconcileConfig(readArea(env, RECONCILE_VARIABLES)),
    demoDefaults,
  };
}
