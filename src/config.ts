import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import proxyaddr from 'proxy-addr';
import { operatorToken, parseApiTokens, TokenConfigError, type OperatorToken } from './audit/tokens';
import { createAllowlist, parseCidrList } from './lib/cidr';
import { parseWebhookSecret, WebhookSecretError } from './outbox/signer';
import { DEFAULT_WRITE_BATCHES } from './store/batched-writes';
import type { RetryPolicy } from './lib/backoff';
import type { LyraFormAlgorithm, LyraShop, LyraShops } from './providers/lyra';
import { parsePayboxPublicKeys, parsePayboxReturn, PayboxConfigError, SITE_PARAMETER, type PayboxSite } from './providers/paybox';
import { PAYBOX_PLATFORM_PUBLIC_KEY } from './providers/paybox/platform-key';
import type { StripeEndpoint } from './providers/stripe';
import type { PaylineMerchant } from './outbound/payline-api';

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
  /** Batches of ingest writes running at once on PostgreSQL. */
  databaseWriteBatches: number;
  /** Unset: no `/ipn/lyra` route. */
  lyra: { shops: LyraShops; allowedCidrs: string[] } | undefined;
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
  /** Development defaults were applied (demo shop, loopback allowed): warn loudly. */
  demoDefaults: boolean;
}

export interface PayboxConfig {
  sites: Map<string, PayboxSite>;
  /** The platform's public keys; any one may verify (the platform rotates keys). */
  publicKeys: KeyObject[];
  allowedCidrs: string[];
}

export interface StripeConfig {
  endpoints: StripeEndpoint[];
  toleranceSeconds: number;
  /** Events embed whole objects (an invoice with its lines): far larger than a payment form. */
  bodyLimitBytes: number;
  allowedCidrs: string[];
}

export interface PaylineConfig {
  merchants: PaylineMerchant[];
  /** Time allowed to connect to one endpoint before the next is tried. */
  connectTimeoutMs: number;
  allowedCidrs: string[];
  /** Fetches that triggers may cause per minute: from one address, and from all. */
  fetches: { perSource: number; total: number };
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

/**
 * Paybox IPN source addresses. The manual V8.0 lists production 194.2.122.158, 194.2.122.190,
 * 195.25.7.166, 195.25.67.22 and pre-production 195.101.99.76; the platform renewal announced
 * 62.161.13.193 and 62.161.15.193 (Paybox's integration manual V8.0, "adresses IP"; changed since by Verifone's platform renewal). The list has changed over time:
 * PAYBOX_ALLOWED_CIDRS overrides it, and the signature is what proves a call.
 */
export const PAYBOX_DEFAULT_CIDRS = ['62.161.13.193/32', '62.161.15.193/32', '194.2.122.158/32', '194.2.122.190/32', '195.25.7.166/32', '195.25.67.22/32', '195.101.99.76/32'];

/** Paybox's public test site and rang; the demo trusts the simulator's key (keys/paybox/). */
export const DEMO_PAYBOX_SITE = { site: '1999888', rang: '32', retour: 'Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K', mode: 'TEST' } as const;
/** Public half of keys/paybox/simulator-private.pem: generated for this project, trusted only by the demo. */
export const DEMO_PAYBOX_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCq33WxOLR0sQfAMsPr2cJNDe1L
3KqrdLTGxGe/tmi3ROp5duPHsRIu3QY6jM5m0+JpADvPg/2wy0EbvnFFGMm/GlYC
xIiae4GyfUXM4x9iS45RKguf6P3A0WjRn6NK3prLfwbzu12Bd02vOwtOClXV1qhI
i3SXXdUlJ41ApdD6LwIDAQAB
-----END PUBLIC KEY-----
`;

/** Stripe publishes its webhook addresses but changes them: every source is allowed unless STRIPE_ALLOWED_CIDRS says otherwise. */
export const ANY_SOURCE_CIDRS = ['0.0.0.0/0', '::/0'];

/** The demo's Stripe endpoint secret (development only), for `npm run simulate -- --provider stripe`. */
export const DEMO_STRIPE_ENDPOINT = { id: 'demo', secrets: ['whsec_ipnReceiverDemoSecretNotForProduction'] } as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const SHOP_FIELDS = new Set(['shopId', 'algorithm', 'testKey', 'productionKey', 'testPassword', 'productionPassword']);

/**
 * Variables that hold secrets (keys, passwords, tokens, a database password). Each may also be
 * given as a file, `<NAME>_FILE`, as Docker and Kubernetes mount secrets.
 */
export const SECRET_VARIABLES: readonly string[] = ['DATABASE_URL', 'LYRA_SHOPS', 'PAYBOX_SITES', 'STRIPE_ENDPOINTS', 'PAYLINE_MERCHANTS', 'AUDIT_API_TOKEN', 'API_TOKENS', 'ORDER_EVENTS_SECRET'];

function text(env: Env, name: string): string | undefined {
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

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

type ConfigRecord = Record<string, unknown>;

/**
 * A JSON array of configuration entries (shops, sites, endpoints): each an object of known
 * fields, parsed by `parse`, unique by `keyOf`. Every error names the variable and the entry.
 */
function parseEntries<T>(variable: string, raw: string, noun: string, fields: ReadonlySet<string>, parse: (record: ConfigRecord, index: number) => T, keyOf: (entry: T) => string): Map<string, T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, 'is not valid JSON');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new ConfigError(variable, `must be a non-empty JSON array of ${noun}s`);
  const entries = new Map<string, T>();
  parsed.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(variable, `entry ${index} is not an object`);
    const unknown = Object.keys(entry).filter((k) => !fields.has(k));
    if (unknown.length > 0) throw new ConfigError(variable, `entry ${index} has unknown field(s) ${unknown.join(', ')}`);
    const value = parse(entry as ConfigRecord, index);
    if (entries.has(keyOf(value))) throw new ConfigError(variable, `${noun} ${keyOf(value)} appears twice`);
    entries.set(keyOf(value), value);
  });
  return entries;
}

function parseShop(record: ConfigRecord, index: number): LyraShop {
  const where = `entry ${index}`;
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
  return parseEntries('LYRA_SHOPS', raw, 'shop', SHOP_FIELDS, parseShop, (shop) => shop.shopId);
}

const PAYBOX_SITE_FIELDS = new Set(['site', 'rang', 'retour', 'mode', 'currency']);

function payboxSite(record: ConfigRecord, index: number): PayboxSite {
  const fail = (message: string): never => {
    throw new ConfigError('PAYBOX_SITES', message);
  };
  const asText = (value: unknown) => (typeof value === 'number' ? String(value) : value);
  const site = asText(record.site);
  const rang = asText(record.rang);
  if (typeof site !== 'string' || !/^\d{1,10}$/.test(site)) return fail(`entry ${index}: site must be the Paybox site number (PBX_SITE)`);
  if (typeof rang !== 'string' || !/^\d{1,3}$/.test(rang)) return fail(`entry ${index}: rang must be the Paybox rank number (PBX_RANG)`);
  const id = `${site}-${rang}`;
  if (typeof record.retour !== 'string') return fail(`site ${id}: retour must be the PBX_RETOUR you send, e.g. Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K`);
  let retour: PayboxSite['retour'];
  try {
    retour = parsePayboxReturn(record.retour);
  } catch (error) {
    if (error instanceof PayboxConfigError) return fail(`site ${id}: retour ${error.message}`);
    throw error;
  }
  if (retour.names.includes(SITE_PARAMETER)) fail(`site ${id}: retour must not name a variable "${SITE_PARAMETER}": that URL parameter selects the site`);
  const mode = record.mode ?? 'PRODUCTION';
  if (mode !== 'TEST' && mode !== 'PRODUCTION') fail(`site ${id}: mode must be TEST or PRODUCTION`);
  const currency = record.currency ?? 'EUR';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) fail(`site ${id}: currency must be an ISO 4217 code such as EUR`);
  return { id, site, rang, mode: mode as PayboxSite['mode'], currency: currency as string, retour };
}

export function parsePayboxSites(raw: string): Map<string, PayboxSite> {
  return parseEntries('PAYBOX_SITES', raw, 'site', PAYBOX_SITE_FIELDS, payboxSite, (site) => site.id);
}

const STRIPE_ENDPOINT_FIELDS = new Set(['id', 'secrets', 'orderIdPath']);
const DEFAULT_ORDER_ID_PATHS = ['metadata.order_id', 'client_reference_id'];

function stripeEndpoint(record: ConfigRecord, index: number): StripeEndpoint {
  const fail = (message: string): never => {
    throw new ConfigError('STRIPE_ENDPOINTS', message);
  };
  const id = record.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return fail(`entry ${index}: id must name the endpoint (letters, digits, _ and -), e.g. your account id`);
  const secrets = record.secrets;
  if (!Array.isArray(secrets) || secrets.length === 0) return fail(`endpoint ${id}: secrets must list its whsec_ signing secret(s), two during a roll`);
  for (const secret of secrets) {
    if (typeof secret !== 'string' || !/^whsec_\S{8,}$/.test(secret)) fail(`endpoint ${id}: every secret must be a whsec_ signing secret without spaces`);
  }
  const paths = record.orderIdPath === undefined ? DEFAULT_ORDER_ID_PATHS : typeof record.orderIdPath === 'string' ? [record.orderIdPath] : record.orderIdPath;
  if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(p))) {
    return fail(`endpoint ${id}: orderIdPath must be a dotted path in the event object, or a list of them (default ${DEFAULT_ORDER_ID_PATHS.join(', ')})`);
  }
  return { id, secrets: secrets as string[], orderIdPaths: (paths as string[]).map((p) => p.split('.')) };
}

export function parseStripeEndpoints(raw: string): StripeEndpoint[] {
  return [...parseEntries('STRIPE_ENDPOINTS', raw, 'endpoint', STRIPE_ENDPOINT_FIELDS, stripeEndpoint, (endpoint) => endpoint.id).values()];
}

/** Stripe when STRIPE_ENDPOINTS is set, or a demo endpoint with a published secret in development. */
function stripe(env: Env, demo: boolean): StripeConfig | undefined {
  const raw = text(env, 'STRIPE_ENDPOINTS');
  const toleranceSeconds = integer(env, 'STRIPE_TOLERANCE_SECONDS', 300, 1, 3600);
  const allowedCidrs = cidrs(env, 'STRIPE_ALLOWED_CIDRS', ANY_SOURCE_CIDRS);
  const bodyLimitBytes = integer(env, 'STRIPE_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024);
  const settings = { toleranceSeconds, allowedCidrs, bodyLimitBytes };
  if (raw !== undefined) return { endpoints: parseStripeEndpoints(raw), ...settings };
  if (!demo) return undefined;
  return { endpoints: parseStripeEndpoints(JSON.stringify([DEMO_STRIPE_ENDPOINT])), ...settings };
}

/** Payline's endpoint directory and default endpoint per environment (https://docs.monext.fr/pages/viewpage.action?pageId=761827555, "bascule à la source"). */
export const PAYLINE_ENVIRONMENTS = {
  homologation: { directory: 'https://homologation-payment.payline.com/services/servicesendpoints/SOAP/', default: 'https://homologation.payline.com/V4/services/' },
  production: { directory: 'https://payment.payline.com/services/servicesendpoints/SOAP/', default: 'https://services.payline.com/V4/services/' },
} as const;

/** The demo merchant talks to the fake Payline that `npm run simulate -- --provider payline` starts on this port. */
export const DEMO_PAYLINE_PORT = 3901;
export const DEMO_PAYLINE_MERCHANT = {
  merchantId: 'demo',
  accessKey: 'demo-access-key',
  environment: 'homologation',
  directoryUrl: `http://127.0.0.1:${DEMO_PAYLINE_PORT}/services/servicesendpoints/SOAP/demo`,
  defaultUrl: `http://127.0.0.1:${DEMO_PAYLINE_PORT}/a/V4/services/`,
  contracts: [] as string[],
} as const;

const PAYLINE_MERCHANT_FIELDS = new Set(['merchantId', 'accessKey', 'environment', 'contracts', 'directoryUrl', 'defaultUrl']);

function httpUrl(value: unknown, fail: (message: string) => never, what: string): string {
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value)) return fail(`${what} must be an http(s) URL`);
  return value;
}

function paylineMerchant(record: ConfigRecord, index: number): PaylineMerchant {
  const fail = (message: string): never => {
    throw new ConfigError('PAYLINE_MERCHANTS', message);
  };
  const merchantId = typeof record.merchantId === 'number' ? String(record.merchantId) : record.merchantId;
  if (typeof merchantId !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(merchantId)) return fail(`entry ${index}: merchantId must be your Payline merchant id`);
  if (typeof record.accessKey !== 'string' || record.accessKey.trim() === '') return fail(`merchant ${merchantId}: accessKey must be the access key of the administration centre`);
  const environment = record.environment ?? 'production';
  if (environment !== 'homologation' && environment !== 'production') return fail(`merchant ${merchantId}: environment must be homologation or production`);
  if (record.contracts !== undefined && (!Array.isArray(record.contracts) || !record.contracts.every((c) => typeof c === 'string'))) fail(`merchant ${merchantId}: contracts must be a list of contract numbers`);
  const urls = PAYLINE_ENVIRONMENTS[environment];
  return {
    merchantId,
    accessKey: record.accessKey.trim(),
    environment,
    directoryUrl: record.directoryUrl === undefined ? `${urls.directory}${merchantId}` : httpUrl(record.directoryUrl, fail, `merchant ${merchantId}: directoryUrl`),
    defaultUrl: record.defaultUrl === undefined ? urls.default : httpUrl(record.defaultUrl, fail, `merchant ${merchantId}: defaultUrl`),
    contracts: (record.contracts as string[] | undefined) ?? [],
  };
}

export function parsePaylineMerchants(raw: string): PaylineMerchant[] {
  return [...parseEntries('PAYLINE_MERCHANTS', raw, 'merchant', PAYLINE_MERCHANT_FIELDS, paylineMerchant, (merchant) => merchant.merchantId).values()];
}

/** Payline when PAYLINE_MERCHANTS is set, or a demo merchant served by the simulator's fake Payline. */
function payline(env: Env, demo: boolean): PaylineConfig | undefined {
  const raw = text(env, 'PAYLINE_MERCHANTS');
  const settings = {
    connectTimeoutMs: integer(env, 'PAYLINE_CONNECT_TIMEOUT_MS', 1500, 50, 10_000),
    allowedCidrs: cidrs(env, 'PAYLINE_ALLOWED_CIDRS', ANY_SOURCE_CIDRS),
    fetches: { perSource: integer(env, 'PAYLINE_FETCHES_PER_SOURCE', 300, 1, 1_000_000), total: integer(env, 'PAYLINE_FETCHES_PER_MINUTE', 3000, 1, 10_000_000) },
  };
  if (raw !== undefined) return { merchants: parsePaylineMerchants(raw), ...settings };
  return demo ? { merchants: [DEMO_PAYLINE_MERCHANT], ...settings } : undefined;
}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g;

/**
 * `PAYBOX_PUBLIC_KEYS`: PEM blocks written in the variable (newlines may be written `\n`), or
 * paths of PEM files separated by commas. Unset: the platform key shipped in the official plugins.
 */
export function payboxPublicKeys(raw: string | undefined): KeyObject[] {
  const fail = (message: string): never => {
    throw new ConfigError('PAYBOX_PUBLIC_KEYS', message);
  };
  if (raw === undefined) return parsePayboxPublicKeys([PAYBOX_PLATFORM_PUBLIC_KEY]);
  let text = raw.replace(/\\n/g, '\n');
  if (!text.includes('-----BEGIN')) {
    text = raw
      .split(',')
      .map((path) => path.trim())
      .filter((path) => path !== '')
      .map((path) => {
        try {
          return readFileSync(path, 'utf8');
        } catch {
          return fail(`cannot read ${path}`);
        }
      })
      .join('\n');
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) fail('holds no PEM public key (-----BEGIN PUBLIC KEY-----)');
  try {
    return parsePayboxPublicKeys(blocks);
  } catch (error) {
    return fail(`a key does not parse: ${(error as Error).message}`);
  }
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

/** `API_TOKENS`, and `AUDIT_API_TOKEN` as one more token that reads and replays. */
function operatorTokens(env: Env): OperatorToken[] {
  const tokens: OperatorToken[] = [];
  const raw = text(env, 'API_TOKENS');
  try {
    if (raw !== undefined) tokens.push(...parseApiTokens(raw));
  } catch (error) {
    if (error instanceof TokenConfigError) throw new ConfigError('API_TOKENS', error.message);
    throw error;
  }
  const audit = text(env, 'AUDIT_API_TOKEN');
  if (audit !== undefined) {
    if (audit.length < 32) throw new ConfigError('AUDIT_API_TOKEN', 'must be at least 32 characters: it opens every payment record');
    if (tokens.some((t) => t.name === AUDIT_TOKEN_NAME)) throw new ConfigError('API_TOKENS', `the name ${AUDIT_TOKEN_NAME} is that of AUDIT_API_TOKEN`);
    tokens.push(operatorToken(AUDIT_TOKEN_NAME, audit, ['read', 'replay']));
  }
  return tokens;
}

/** The operator log's name of the token given as `AUDIT_API_TOKEN`. */
export const AUDIT_TOKEN_NAME = 'audit-api-token';

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

/** Lyra when LYRA_SHOPS is set, or the documentation's test shop in the demo. */
function lyra(env: Env, demo: boolean): Config['lyra'] {
  const raw = text(env, 'LYRA_SHOPS');
  const allowedCidrs = cidrs(env, 'LYRA_ALLOWED_CIDRS', LYRA_DEFAULT_CIDRS);
  if (raw !== undefined) return { shops: parseLyraShops(raw), allowedCidrs };
  return demo ? { shops: new Map([[DEMO_LYRA_SHOP.shopId, DEMO_LYRA_SHOP]]), allowedCidrs: [...allowedCidrs, ...LOOPBACK_CIDRS] } : undefined;
}

/** Paybox when PAYBOX_SITES is set, or Paybox's test site trusting the simulator's key in the demo. */
function paybox(env: Env, demo: boolean): PayboxConfig | undefined {
  const raw = text(env, 'PAYBOX_SITES');
  const allowedCidrs = cidrs(env, 'PAYBOX_ALLOWED_CIDRS', PAYBOX_DEFAULT_CIDRS);
  const publicKeys = payboxPublicKeys(text(env, 'PAYBOX_PUBLIC_KEYS'));
  if (raw !== undefined) return { sites: parsePayboxSites(raw), publicKeys, allowedCidrs };
  if (!demo) return undefined;
  return {
    sites: parsePayboxSites(JSON.stringify([DEMO_PAYBOX_SITE])),
    publicKeys: [...publicKeys, ...parsePayboxPublicKeys([DEMO_PAYBOX_PUBLIC_KEY])],
    allowedCidrs: [...allowedCidrs, ...LOOPBACK_CIDRS],
  };
}

const PROVIDER_VARIABLES = ['LYRA_SHOPS', 'PAYBOX_SITES', 'STRIPE_ENDPOINTS', 'PAYLINE_MERCHANTS'];

export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  // With no provider configured, development gets a demo of each; production refuses to start.
  const demoDefaults = PROVIDER_VARIABLES.every((name) => text(env, name) === undefined);
  if (demoDefaults && production) {
    throw new ConfigError('LYRA_SHOPS', 'is required in production (NODE_ENV=production) unless PAYBOX_SITES, STRIPE_ENDPOINTS or PAYLINE_MERCHANTS is set: a JSON array of your Lyra shops and keys');
  }
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
    databaseWriteBatches: integer(env, 'DATABASE_WRITE_BATCHES', DEFAULT_WRITE_BATCHES, 1, 50),
    lyra: lyra(env, demoDefaults),
    paybox: paybox(env, demoDefaults),
    stripe: stripe(env, demoDefaults),
    payline: payline(env, demoDefaults),
    trustProxy: parseTrustProxy(text(env, 'TRUST_PROXY')),
    ipnDeadlineMs: integer(env, 'IPN_DEADLINE_MS', 5000, 100, 9000),
    ipnBodyLimitBytes: integer(env, 'IPN_BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    rejectedRecords: { perSource: integer(env, 'IPN_REJECTED_RECORDS_PER_SOURCE', 20, 1, 100_000), total: integer(env, 'IPN_REJECTED_RECORDS_PER_MINUTE', 1000, 1, 1_000_000) },
    http: httpLimits(env),
    logLevel,
    operatorTokens: operatorTokens(env),
    retentionDays: integer(env, 'RETENTION_DAYS', 90, 0, 36500),
    orderEvents: orderEvents(env),
    demoDefaults,
  };
}
