import { ANY_SOURCE_CIDRS } from '../../lib/cidr';
import { cidrs, failFor, httpUrl, integer, parsed, parseEntries, type EntryRecord } from '../../lib/variables';

export interface PaylineMerchant {
  merchantId: string;
  accessKey: string;
  environment: 'homologation' | 'production';
  /** The endpoint directory (`…/services/servicesendpoints/SOAP/<merchantId>`). */
  directoryUrl: string;
  /** Used when the directory cannot be read. */
  defaultUrl: string;
  /** The merchant's contract numbers; when given, a result under another contract is refused. */
  contracts: string[];
}

/** Payline's endpoint directory and default endpoint per environment (https://docs.monext.fr/pages/viewpage.action?pageId=761827555, "bascule à la source"). */
export const PAYLINE_ENVIRONMENTS = {
  homologation: { directory: 'https://homologation-payment.payline.com/services/servicesendpoints/SOAP/', default: 'https://homologation.payline.com/V4/services/' },
  production: { directory: 'https://payment.payline.com/services/servicesendpoints/SOAP/', default: 'https://services.payline.com/V4/services/' },
} as const;

/** The demo merchant talks to the fake Payline that `npm run simulate -- --provider payline` starts on this port. */
export const DEMO_PAYLINE_PORT = 3901;
export const DEMO_PAYLINE_MERCHANT: PaylineMerchant = {
  merchantId: 'demo',
  accessKey: 'demo-access-key',
  environment: 'homologation',
  directoryUrl: `http://127.0.0.1:${DEMO_PAYLINE_PORT}/services/servicesendpoints/SOAP/demo`,
  defaultUrl: `http://127.0.0.1:${DEMO_PAYLINE_PORT}/a/V4/services/`,
  contracts: [],
};

const PAYLINE_MERCHANT_FIELDS = new Set(['merchantId', 'accessKey', 'environment', 'contracts', 'directoryUrl', 'defaultUrl']);

function paylineMerchant(record: EntryRecord, index: number): PaylineMerchant {
  const fail = failFor('PAYLINE_MERCHANTS');
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

export const PAYLINE_VARIABLES = {
  merchants: parsed<PaylineMerchant[] | undefined>('PAYLINE_MERCHANTS', undefined, 'the demo merchant in development without any provider', parsePaylineMerchants, {
    description: 'Monext Payline merchants, a JSON array of `{ "merchantId", "accessKey", "environment", "contracts" }` ([docs](providers/payline.md)); unset: no `/ipn/payline`',
    secret: true,
  }),
  connectTimeoutMs: integer('PAYLINE_CONNECT_TIMEOUT_MS', 1500, 50, 10_000, {
    description: 'time to connect to one Payline endpoint before the next is tried',
  }),
  allowedCidrs: cidrs('PAYLINE_ALLOWED_CIDRS', ANY_SOURCE_CIDRS, 'any address', {
    description: 'comma-separated addresses and CIDR ranges allowed to call `/ipn/payline`',
  }),
  fetchesPerSource: integer('PAYLINE_FETCHES_PER_SOURCE', 300, 1, 1_000_000, {
    description: 'fetches from Payline that triggers from one address may cause per minute; past it a trigger is answered `503` (Payline repeats it every minute) and counted in `payline_fetches_refused_total`',
  }),
  fetchesPerMinute: integer('PAYLINE_FETCHES_PER_MINUTE', 3000, 1, 10_000_000, {
    description: 'fetches from Payline that triggers from all addresses may cause per minute',
  }),
};

export interface PaylineConfig {
  merchants: PaylineMerchant[];
  /** Time allowed to connect to one endpoint before the next is tried. */
  connectTimeoutMs: number;
  allowedCidrs: string[];
  /** Fetches that triggers may cause per minute: from one address, and from all. */
  fetches: { perSource: number; total: number };
}

/** Payline when PAYLINE_MERCHANTS is set, or a demo merchant served by the simulator's fake Payline. */
export function paylineConfig(values: { merchants: PaylineMerchant[] | undefined; connectTimeoutMs: number; allowedCidrs: string[]; fetchesPerSource: number; fetchesPerMinute: number }, demo: boolean): PaylineConfig | undefined {
  const settings = { connectTimeoutMs: values.connectTimeoutMs, allowedCidrs: values.allowedCidrs, fetches: { perSource: values.fetchesPerSource, total: values.fetchesPerMinute } };
  if (values.merchants !== undefined) return { merchants: values.merchants, ...settings };
  return demo ? { merchants: [DEMO_PAYLINE_MERCHANT], ...settings } : undefined;
}
