import type { Mode } from '../../domain/notification';

export type LyraFormAlgorithm = 'SHA-1' | 'HMAC-SHA-256';

/** One Lyra shop as configured in `LYRA_SHOPS`; any key may be absent. */
export interface LyraShop {
  shopId: string;
  algorithm: LyraFormAlgorithm;
  testKey?: string;
  productionKey?: string;
  testPassword?: string;
  productionPassword?: string;
  /** Scheme and host of the brand's REST API (`https://api.payzen.eu`); `/api-payment/V4/…` is appended. */
  apiUrl: string;
}

export type LyraShops = ReadonlyMap<string, LyraShop>;

export function isMode(value: unknown): value is Mode {
  return value === 'TEST' || value === 'PRODUCTION';
}

/** The form-signature key of a shop for a mode (the official SDK trims keys, never values). */
export function formKeyFor(shop: LyraShop, mode: Mode): string | undefined {
  return (mode === 'TEST' ? shop.testKey : shop.productionKey)?.trim() || undefined;
}

/** The REST password that signs `kr-answer` of notifications. */
export function restPasswordFor(shop: LyraShop, mode: Mode): string | undefined {
  return (mode === 'TEST' ? shop.testPassword : shop.productionPassword)?.trim() || undefined;
}
