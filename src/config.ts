import proxyaddr from 'proxy-addr';
import { createAllowlist, parseCidrList } from './lib/cidr';
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

export interface Config {
  production: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolSize: number;
  lyra: { shops: LyraShops; allowedCidrs: string[] };
  trustProxy: TrustProxy;
  ipnDeadlineMs: number;
  ipnBodyLimitBytes: number;
  logLevel: string;
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

  return {
    production,
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: text(env, 'HOST') ?? '0.0.0.0',
    databaseUrl: databaseUrl(env),
    dataDir: text(env, 'DATA_DIR') ?? './data',
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    lyra: { shops, allowedCidrs: demoDefaults ? [...allowedCidrs, ...LOOPBACK_CIDRS] : allowedCidrs },
    trustProxy: parseTrustProxy(text(env, 'TRUST_PROXY')),
    ipnDeadlineMs: integer(env, 'IPN_DEADLINE_MS', 5000, 100, 9000),
    ipnBodyLimitBytes: integer(env, 'IPN_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    logLevel,
    demoDefaults,
  };
}
