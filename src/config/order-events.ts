import type { RetryPolicy } from '../lib/backoff';
import { ConfigError, integer, parsed } from '../lib/variables';
import { parseWebhookSecret } from '../outbox/signer';

export interface OrderEventsConfig {
  url: string;
  /** The decoded key of `ORDER_EVENTS_SECRET`. */
  key: Buffer;
  timeoutMs: number;
  concurrency: number;
  pollMs: number;
  policy: RetryPolicy;
}

function eventsUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('must be an http:// or https:// URL');
  if (url.username !== '' || url.password !== '') throw new Error('must not carry credentials: requests are authenticated by their signature');
  return url.toString();
}

/** The relay: where order events go, signed, and how it retries. */
export const ORDER_EVENTS_VARIABLES = {
  url: parsed<string | undefined>('ORDER_EVENTS_URL', undefined, 'unset: no relay, events stay in the `outbox` table', eventsUrl, {
    description: 'where the relay POSTs order events ([events.md](events.md)); unset, no relay runs and the events stay in the `outbox` table for other consumers (Debezium, SQL)',
    example: 'https://orders.internal/ipn-events',
  }),
  secret: parsed<Buffer | undefined>('ORDER_EVENTS_SECRET', undefined, 'unset', parseWebhookSecret, {
    description: 'Standard Webhooks signing secret of the events, `whsec_` followed by the base64 of 24 to 64 bytes; required with `ORDER_EVENTS_URL`',
    secret: true,
  }),
  timeoutMs: integer('ORDER_EVENTS_TIMEOUT_MS', 10_000, 100, 120_000, { description: 'time allowed for one POST, connection and reply included' }),
  concurrency: integer('ORDER_EVENTS_CONCURRENCY', 8, 1, 256, { description: 'deliveries in flight per relay (each for a different order)' }),
  pollMs: integer('ORDER_EVENTS_POLL_MS', 5000, 50, 600_000, { description: 'longest wait between two looks at the table without a NOTIFY' }),
  maxAttempts: integer('ORDER_EVENTS_MAX_ATTEMPTS', 24, 1, 1000, { description: 'attempts before an event is dead' }),
  backoffBaseMs: integer('ORDER_EVENTS_BACKOFF_BASE_MS', 2000, 10, 3_600_000, { description: 'delay before the first retry; it doubles with each attempt, each delay drawn between half and all of it' }),
  backoffMaxMs: integer('ORDER_EVENTS_BACKOFF_MAX_MS', 2 * 3_600_000, 10, 7 * 24 * 3_600_000, { description: 'longest delay between two attempts; at least `ORDER_EVENTS_BACKOFF_BASE_MS`' }),
};

type Values = { [K in keyof typeof ORDER_EVENTS_VARIABLES]: (typeof ORDER_EVENTS_VARIABLES)[K]['fallback'] };

/** The relay's settings when `ORDER_EVENTS_URL` is set. */
export function orderEventsConfig(values: Values): OrderEventsConfig | undefined {
  if (values.url === undefined) return undefined;
  if (values.secret === undefined) throw new ConfigError('ORDER_EVENTS_SECRET', 'is required with ORDER_EVENTS_URL: every event is signed (whsec_ followed by base64)');
  if (values.backoffMaxMs < values.backoffBaseMs) throw new ConfigError('ORDER_EVENTS_BACKOFF_MAX_MS', `must not be below ORDER_EVENTS_BACKOFF_BASE_MS (${values.backoffBaseMs})`);
  return {
    url: values.url,
    key: values.secret,
    timeoutMs: values.timeoutMs,
    concurrency: values.concurrency,
    pollMs: values.pollMs,
    policy: { maxAttempts: values.maxAttempts, backoffBaseMs: values.backoffBaseMs, backoffMaxMs: values.backoffMaxMs },
  };
}
