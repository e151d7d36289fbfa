import { apiOrigin, cidrs, failFor, httpUrl, parsed, parseEntries, type EntryRecord } from '../../lib/variables';
import type { LyraFormAlgorithm, LyraShop, LyraShops } from './shops';

/** The range Lyra's platform sends notifications from; LYRA_ALLOWED_CIDRS overrides it, and the signature is what proves a call. */
export const LYRA_DEFAULT_CIDRS = ['194.50.38.0/24'];

/** Where the demo shop's REST API is asked: the simulator's fake Lyra API listens there. */
export const DEMO_LYRA_API_PORT = 3903;

/** The documentation's test shop: form key from the Lyra signature examples, REST password from Lyra's REST examples. */
export const DEMO_LYRA_SHOP: LyraShop = {
  apiUrl: `http://127.0.0.1:${DEMO_LYRA_API_PORT}`,
  shopId: '12345678',
  algorithm: 'HMAC-SHA-256',
  testKey: '1122334455667788',
  testPassword: 'testpassword_DEMOPRIVATEKEY23G4475zXZQ2UA5x7M',
};

const SHOP_FIELDS = new Set(['shopId', 'algorithm', 'testKey', 'productionKey', 'testPassword', 'productionPassword', 'apiUrl']);

/**
 * The REST API of PayZen Europe, the host of Lyra's own SDK examples (lyra/rest-php-examples
 * `setDefaultEndpoint("https://api.payzen.eu")`). Each brand has its own: Systempay
 * `https://api.systempay.fr`, Lyra Collect `https://api.lyra.com`, Sogecommerce
 * `https://api-sogecommerce.societegenerale.eu`, Scellius
 * `https://api.scelliuspaiement.labanquepostale.fr` (docs/providers/lyra.md).
 */
export const LYRA_DEFAULT_API_URL = 'https://api.payzen.eu';

function apiUrlOf(value: unknown, shopId: string, fail: (message: string) => never): string {
  const url = httpUrl(value, fail, `shop ${shopId}: apiUrl`);
  try {
    return apiOrigin(url, 'https://api.payzen.eu (the service appends /api-payment/V4/…)');
  } catch (error) {
    return fail(`shop ${shopId}: apiUrl ${(error as Error).message}`);
  }
}

function parseShop(record: EntryRecord, index: number): LyraShop {
  const fail = failFor('LYRA_SHOPS');
  const where = `entry ${index}`;
  const shopId = typeof record.shopId === 'number' ? String(record.shopId) : record.shopId;
  if (typeof shopId !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(shopId)) return fail(`${where}: shopId is missing or invalid`);
  const algorithm = record.algorithm ?? 'HMAC-SHA-256';
  if (algorithm !== 'HMAC-SHA-256' && algorithm !== 'SHA-1') fail(`shop ${shopId}: algorithm must be "HMAC-SHA-256" or "SHA-1"`);
  const shop: LyraShop = { shopId, algorithm: algorithm as LyraFormAlgorithm, apiUrl: record.apiUrl === undefined ? LYRA_DEFAULT_API_URL : apiUrlOf(record.apiUrl, shopId, fail) };
  for (const field of ['testKey', 'productionKey', 'testPassword', 'productionPassword'] as const) {
    const value = record[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value.trim() === '') return fail(`shop ${shopId}: ${field} must be a non-empty string`);
    shop[field] = value.trim();
  }
  if (!shop.testKey && !shop.productionKey && !shop.testPassword && !shop.productionPassword) {
    fail(`shop ${shopId} has no key nor password`);
  }
  return shop;
}

export function parseLyraShops(raw: string): LyraShops {
  return parseEntries('LYRA_SHOPS', raw, 'shop', SHOP_FIELDS, parseShop, (shop) => shop.shopId);
}

export const LYRA_VARIABLES = {
  shops: parsed<LyraShops | undefined>('LYRA_SHOPS', undefined, 'the demo shop in development without any provider', parseLyraShops, {
    description:
      'Lyra shops (PayZen, Systempay, Sogecommerce, Scellius, Lyra Collect…), a JSON array of `{ "shopId", "algorithm", "testKey", "productionKey", "testPassword", "productionPassword", "apiUrl" }` ([docs](providers/lyra.md)); unset: no `/ipn/lyra`',
    example: '[{"shopId":"12345678","algorithm":"HMAC-SHA-256","productionKey":"change-me","productionPassword":"prodpassword_change-me"}]',
    secret: true,
  }),
  allowedCidrs: cidrs('LYRA_ALLOWED_CIDRS', LYRA_DEFAULT_CIDRS, `\`${LYRA_DEFAULT_CIDRS.join(', ')}\` (+ loopback in the demo)`, {
    description: 'comma-separated addresses and CIDR ranges allowed to call `/ipn/lyra`',
  }),
};

export interface LyraConfig {
  shops: LyraShops;
  allowedCidrs: string[];
}

/** Lyra when LYRA_SHOPS is set, or the documentation's test shop (and loopback) in the demo. */
export function lyraConfig(values: { shops: LyraShops | undefined; allowedCidrs: string[] }, demo: { loopback: string[] } | null): LyraConfig | undefined {
  if (values.shops !== undefined) return { shops: values.shops, allowedCidrs: values.allowedCidrs };
  return demo === null ? undefined : { shops: new Map([[DEMO_LYRA_SHOP.shopId, DEMO_LYRA_SHOP]]), allowedCidrs: [...values.allowedCidrs, ...demo.loopback] };
}
