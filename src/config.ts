import proxyaddr from 'proxy-addr';
import { createAllowlist, parseCidrList } from './lib/cidr';
import { parseWebhookSecret, WebhookSecretError } from './outbox/signer';
import type { RetryPolicy } from './outbox/retry-policy';
import type { LyraFormAlgorithm, LyraShop, LyraShops } from './providers/lyra';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export type TrustProxy = boolean | number | string;

/** all: receiver and relay in one process; receiver: HTTP only; relay: delivery only. */
export type Role = 'all' | 'receiver' | 'relay';
const ROLES: readonly Role[] = ['all', 'receiver', 'relay'];

export interface OrderEventsConfig {
  url: string;
  /** The decoded key of `ORDER_EVENTS_SECRET`. */
  key: Buffer;
  timeoutMs: number;
  concurrency: number;
  pollMs: number;
  policy: RetryPolicy;
}

export interface Config {
  production: boolean;
  role: Role;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolSize: number;
  lyra: { shops: LyraShops; allowedCidrs: string[] };
  trustProxy: TrustProxy;
  ipnDeadlineMs: number;
  ipnBodyLimitBytes: number;
  http: { headersTimeoutMs: number; requestTimeoutMs: number; maxConnections: number };
  logLevel: string;
  /** Unset: the audit API is off (404). */
  auditApiToken: string | undefined;
  /** Raw bodies older than this are purged; 0 keeps them forever. */
  retentionDays: number;
  /** Unset: no relay; events stay in the outbox table for other consumers. */
  orderEvents: OrderEventsConfig | undefined;
  /** Development defaults were applied (demo shop, loopback allowed): warn loudly. */
  demoDefaults: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

export const LYRA_DEFAULT_CIDRS = ['194.50.38.0/24'];
export const LOOPBACK_CIDRS = ['127.0.0.0/8', '::1/128'];

/** The documentation's test shop: form key from the Lyra signature examples, REST password from Lyra's REST examples. */
export const DEMO_LYRA_SHOP: LyraShop = {
  shopId: '12345678',
  algorithm: 'HMAC-SHA-256',
  testKey: '1122334455667788',
  testPassword: 'testpassword_DEMOPRIVATEKEY23G4475zXZQ2UA5x7M',
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SHOP_FIELDS = new Set(['shopId', 'algorithm', 'testKey', 'productionKey', 'testPassword', 'productionPassword']);

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function parseShop(entry: unknown, index: number): LyraShop {
  const where = `entry ${index}`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError('LYRA_SHOPS', `${where} is not an object`);
  const record = entry as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !SHOP_FIELDS.has(k));
  if (unknown.length > 0) throw new ConfigError('LYRA_SHOPS', `${where} has unknown field(s) ${unknown.join(', ')}`);
  const shopId = typeof record.shopId === 'number' ? String(record.shopId) : record.shopId;
  if (typeof shopId !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(shopId)) throw new ConfigError('LYRA_SHOPS', `${where}: shopId is missing or invalid`);
  const algorithm = record.algorithm ?? 'HMAC-SHA-256';
  if (algorithm !== 'HMAC-SHA-256' && algorithm !== 'SHA-1') throw new ConfigError('LYRA_SHOPS', `shop ${shopId}: algorithm must be "HMAC-SHA-256" or "SHA-1"`);
  const shop: LyraShop = { shopId, algorithm: algorithm as LyraFormAlgorithm };
  for (const field of ['testKey', 'productionKey', 'testPassword', 'productionPassword'] as const) {
    const value = record[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value.trim() === '') throw new ConfigError('LYRA_SHOPS', `shop ${shopId}: ${field} must be a non-empty string`);
    shop[field] = value.trim();
  }
  if (!shop.testKey && !shop.productionKey && !shop.testPassword && !shop.productionPassword) {
    throw new ConfigError('LYRA_SHOPS', `shop ${shopId} has no key nor password`);
  }
  return shop;
}

export function parseLyraShops(raw: string): Map<string, LyraShop> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('LYRA_SHOPS', 'is not valid JSON');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new ConfigError('LYRA_SHOPS', 'must be a non-empty JSON array of shops');
  const shops = new Map<string, LyraShop>();
  parsed.forEach((entry, index) => {
    const shop = parseShop(entry, index);
    if (shops.has(shop.shopId)) throw new ConfigError('LYRA_SHOPS', `shop ${shop.shopId} appears twice`);
    shops.set(shop.shopId, shop);
  });
  return shops;
}

function cidrs(env: Env, name: string, fallback: string[]): string[] {
  const raw = text(env, name);
  const entries = raw === undefined ? fallback : parseCidrList(raw);
  try {
    createAllowlist(entries);
  } catch (error) {
    throw new ConfigError(name, (error as Error).message);
  }
  return entries;
}

/** Express `trust proxy`: true/false, a hop count, or addresses/ranges/names (`loopback`, `uniquelocal`…). */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  try {
    proxyaddr.compile(parseCidrList(raw));
  } catch (error) {
    throw new ConfigError('TRUST_PROXY', (error as Error).message);
  }
  return raw;
}

function databaseUrl(env: Env): string | undefined {
  const url = text(env, 'DATABASE_URL');
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  return url;
}

function role(env: Env, url: string | undefined): Role {
  const value = text(env, 'ROLE') ?? 'all';
  if (!(ROLES as readonly string[]).includes(value)) throw new ConfigError('ROLE', `must be one of ${ROLES.join(', ')}, got "${value}"`);
  if (value !== 'all' && url === undefined) {
    throw new ConfigError('ROLE', `${value} runs apart from the other role, so it needs DATABASE_URL: the embedded database belongs to one process`);
  }
  return value as Role;
}

function httpLimits(env: Env): Config['http'] {
  const headersTimeoutMs = integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 500, 120_000);
  const requestTimeoutMs = integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 15_000, 1000, 300_000);
  if (requestTimeoutMs <= headersTimeoutMs) throw new ConfigError('HTTP_REQUEST_TIMEOUT_MS', `must be above HTTP_HEADERS_TIMEOUT_MS (${headersTimeoutMs})`);
  return { headersTimeoutMs, requestTimeoutMs, maxConnections: integer(env, 'MAX_CONNECTIONS', 1024, 1, 100_000) };
}

function auditApiToken(env: Env): string | undefined {
  const token = text(env, 'AUDIT_API_TOKEN');
  if (token !== undefined && token.length < 32) throw new ConfigError('AUDIT_API_TOKEN', 'must be at least 32 characters: it opens every payment record');
  return token;
}

function orderEvents(env: Env): OrderEventsConfig | undefined {
  const url = text(env, 'ORDER_EVENTS_URL');
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('ORDER_EVENTS_URL', 'is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError('ORDER_EVENTS_URL', 'must be an http:// or https:// URL');
  if (parsed.username !== '' || parsed.password !== '') throw new ConfigError('ORDER_EVENTS_URL', 'must not carry credentials: requests are authenticated by their signature');
  const secret = text(env, 'ORDER_EVENTS_SECRET');
  if (secret === undefined) throw new ConfigError('ORDER_EVENTS_SECRET', 'is required with ORDER_EVENTS_URL: every event is signed (whsec_ followed by base64)');
  let key: Buffer;
  try {
    key = parseWebhookSecret(secret);
  } catch (error) {
    if (error instanceof WebhookSecretError) throw new ConfigError('ORDER_EVENTS_SECRET', error.message);
    throw error;
  }
  const backoffBaseMs = integer(env, 'ORDER_EVENTS_BACKOFF_BASE_MS', 2000, 10, 3_600_000);
  const backoffMaxMs = integer(env, 'ORDER_EVENTS_BACKOFF_MAX_MS', 2 * 3_600_000, 10, 7 * 24 * 3_600_000);
  if (backoffMaxMs < backoffBaseMs) throw new ConfigError('ORDER_EVENTS_BACKOFF_MAX_MS', `must not be below ORDER_EVENTS_BACKOFF_BASE_MS (${backoffBaseMs})`);
  return {
    url: parsed.toString(),
    key,
    timeoutMs: integer(env, 'ORDER_EVENTS_TIMEOUT_MS', 10_000, 100, 120_000),
    concurrency: integer(env, 'ORDER_EVENTS_CONCURRENCY', 8, 1, 256),
    pollMs: integer(env, 'ORDER_EVENTS_POLL_MS', 5000, 50, 600_000),
    policy: { maxAttempts: integer(env, 'ORDER_EVENTS_MAX_ATTEMPTS', 24, 1, 1000), backoffBaseMs, backoffMaxMs },
  };
}

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const shopsRaw = text(env, 'LYRA_SHOPS');
  if (shopsRaw === undefined && production) {
    throw new ConfigError('LYRA_SHOPS', 'is required in production (NODE_ENV=production): a JSON array of your Lyra shops and keys');
  }
  const demoDefaults = shopsRaw === undefined;
  const shops = shopsRaw === undefined ? new Map([[DEMO_LYRA_SHOP.shopId, DEMO_LYRA_SHOP]]) : parseLyraShops(shopsRaw);
  const allowedCidrs = cidrs(env, 'LYRA_ALLOWED_CIDRS', LYRA_DEFAULT_CIDRS);
  const logLevel = text(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);

  const url = databaseUrl(env);
  return {
    production,
    role: role(env, url),
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: text(env, 'HOST') ?? '0.0.0.0',
    databaseUrl: url,
    dataDir: text(env, 'DATA_DIR') ?? './data',
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    lyra: { shops, allowedCidrs: demoDefaults ? [...allowedCidrs, ...LOOPBACK_CIDRS] : allowedCidrs },
    trustProxy: parseTrustProxy(text(env, 'TRUST_PROXY')),
    ipnDeadlineMs: integer(env, 'IPN_DEADLINE_MS', 5000, 100, 9000),
    ipnBodyLimitBytes: integer(env, 'IPN_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    http: httpLimits(env),
    logLevel,
    auditApiToken: auditApiToken(env),
    retentionDays: integer(env, 'RETENTION_DAYS', 90, 0, 36500),
    orderEvents: orderEvents(env),
    demoDefaults,
  };
}
