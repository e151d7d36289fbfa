/**
 * "Bascule à la source", as the official PHP SDK does it (https://docs.monext.fr/pages/viewpage.action?pageId=761827555): the same request
 * goes to the next endpoint of the directory only on a technical failure, never on a business
 * answer, and the chain ends with the list.
 */
export const FAILOVER_RESULT_CODES = ['02101', '04901'];
export const FAILOVER_HTTP_STATUSES = [408, 500, 502, 503, 504];

/** What one attempt came to, as far as failing over is concerned. */
export type AttemptOutcome =
  | { kind: 'connection'; reason: string }
  | { kind: 'http'; status: number }
  | { kind: 'answer'; resultCode: string };

/** The `x-failover-cause` of the next attempt, or null when the chain must stop here. */
export function failoverCause(outcome: AttemptOutcome): string | null {
  switch (outcome.kind) {
    case 'connection':
      return 'TIMEOUT';
    case 'http':
      return FAILOVER_HTTP_STATUSES.includes(outcome.status) ? `HTTP_${outcome.status}` : null;
    case 'answer':
      return FAILOVER_RESULT_CODES.includes(outcome.resultCode) ? `APP_${outcome.resultCode}` : null;
  }
}

/** The directory's answer: endpoints in priority order and how long to keep them. */
export interface EndpointDirectory {
  urls: string[];
  ttlSeconds: number;
}

/**
 * `{"ttl":"10080","urls":[…]}`. The ttl's unit is not documented (the SDK hands it to a cache
 * that counts seconds): it is read as seconds, and kept between a minute and a day.
 */
export function parseEndpointDirectory(json: unknown): EndpointDirectory | null {
  if (typeof json !== 'object' || json === null) return null;
  const { urls, ttl } = json as { urls?: unknown; ttl?: unknown };
  if (!Array.isArray(urls)) return null;
  const valid = urls.filter((u): u is string => typeof u === 'string' && /^https?:\/\/[^\s]+$/.test(u)).map((u) => `${u.replace(/\/+$/, '')}/services/`);
  if (valid.length === 0) return null;
  const seconds = Number(ttl);
  return { urls: valid, ttlSeconds: Number.isFinite(seconds) ? Math.min(86_400, Math.max(60, seconds)) : 60 };
}
