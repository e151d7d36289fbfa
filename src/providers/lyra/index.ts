import { parseFormBody } from '../../lib/form-body';
import { reject, type ProviderResult } from '../types';
import { handleLyraForm } from './form';
import { handleLyraRest } from './rest';
import type { LyraShops } from './shops';
import type { LyraCryptoProvider } from './signature';

export type { LyraShop, LyraShops, LyraFormAlgorithm } from './shops';
export { normalizeLyraOrderTransactions } from './rest';

/** Both Lyra formats arrive on one route; the fields say which one it is. */
export function handleLyraNotification(body: Uint8Array, shops: LyraShops, crypto?: LyraCryptoProvider): ProviderResult {
  if (body.length === 0) return reject('malformed', 'empty body');
  const parsed = parseFormBody(body);
  if (!parsed.ok) return reject('malformed', parsed.reason);
  const fields = parsed.fields;
  if ('kr-answer' in fields || 'kr-hash' in fields) return handleLyraRest(fields, shops, crypto);
  if (Object.keys(fields).some((name) => name.startsWith('vads_'))) return handleLyraForm(fields, shops, crypto);
  return reject('malformed', 'unknown format: neither vads_* nor kr-answer fields');
}
