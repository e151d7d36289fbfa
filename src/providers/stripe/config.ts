import { ANY_SOURCE_CIDRS } from '../../lib/cidr';
import { apiOrigin, cidrs, failFor, integer, parsed, parseEntries, type EntryRecord } from '../../lib/variables';
import type { StripeEndpoint } from './events';

/** The demo's Stripe endpoint secret (development only), for `npm run simulate -- --provider stripe`. */
export const DEMO_STRIPE_ENDPOINT = { id: 'demo', secrets: ['whsec_ipnReceiverDemoSecretNotForProduction'] } as const;

const STRIPE_ENDPOINT_FIELDS = new Set(['id', 'secrets', 'orderIdPath', 'apiKey']);
const DEFAULT_ORDER_ID_PATHS = ['metadata.order_id', 'client_reference_id'];

function stripeEndpoint(record: EntryRecord, index: number): StripeEndpoint {
  const fail = failFor('STRIPE_ENDPOINTS');
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
  const apiKey = record.apiKey;
  if (apiKey !== undefined && (typeof apiKey !== 'string' || !/^(rk|sk)_(live|test)_[A-Za-z0-9]{8,}$/.test(apiKey))) fail(`endpoint ${id}: apiKey must be a restricted key (rk_live_…, rk_test_…) that reads Events`);
  return { id, secrets: secrets as string[], orderIdPaths: (paths as string[]).map((p) => p.split('.')), ...(typeof apiKey === 'string' ? { apiKey } : {}) };
}

export function parseStripeEndpoints(raw: string): StripeEndpoint[] {
  return [...parseEntries('STRIPE_ENDPOINTS', raw, 'endpoint', STRIPE_ENDPOINT_FIELDS, stripeEndpoint, (endpoint) => endpoint.id).values()];
}

export const STRIPE_VARIABLES = {
  endpoints: parsed<StripeEndpoint[] | undefined>('STRIPE_ENDPOINTS', undefined, 'the demo endpoint in development without any provider', parseStripeEndpoints, {
    description: 'Stripe webhook endpoints, a JSON array of `{ "id", "secrets", "orderIdPath", "apiKey" }` ([docs](providers/stripe.md)); unset: no `/ipn/stripe`',
    secret: true,
  }),
  toleranceSeconds: integer('STRIPE_TOLERANCE_SECONDS', 300, 1, 3600, {
    description: 'largest gap, past or future, between the signature\'s timestamp and reception (1–3600)',
  }),
  allowedCidrs: cidrs('STRIPE_ALLOWED_CIDRS', ANY_SOURCE_CIDRS, 'any address', {
    description: 'comma-separated addresses and CIDR ranges allowed to call `/ipn/stripe`; Stripe publishes its addresses but changes them',
  }),
  apiUrl: parsed<string>('STRIPE_API_URL', 'https://api.stripe.com', '`https://api.stripe.com`', (raw) => apiOrigin(raw, 'https://api.stripe.com'), {
    description: "where the reconciliation asks Stripe's API (scheme and host; `http` for tests and internal proxies)",
  }),
  bodyLimitBytes: integer('STRIPE_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024, {
    description: 'largest Stripe event: events embed whole objects, an invoice with its lines can weigh hundreds of KB',
  }),
};

export interface StripeConfig {
  endpoints: StripeEndpoint[];
  /** STRIPE_API_URL: scheme and host of Stripe's API. */
  apiUrl: string;
  toleranceSeconds: number;
  /** Events embed whole objects (an invoice with its lines): far larger than a payment form. */
  bodyLimitBytes: number;
  allowedCidrs: string[];
}

/** Stripe when STRIPE_ENDPOINTS is set, or a demo endpoint with a published secret in development. */
export function stripeConfig(values: Omit<StripeConfig, 'endpoints'> & { endpoints: StripeEndpoint[] | undefined }, demo: boolean): StripeConfig | undefined {
  const { endpoints, ...settings } = values;
  if (endpoints !== undefined) return { endpoints, ...settings };
  return demo ? { endpoints: parseStripeEndpoints(JSON.stringify([DEMO_STRIPE_ENDPOINT])), ...settings } : undefined;
}
