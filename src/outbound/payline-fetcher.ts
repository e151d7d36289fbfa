import type { Logger } from 'pino';
import { recordCall, settleCall } from '../ingest/settle';
import type { DeliveryInput } from '../store/deliveries';
import { claimDueFetches, markFetchDone, markFetchFailed, type ClaimedFetch } from '../store/payline-fetches';
import type { DatabaseHandle } from '../store/database';
import { fetchPaylineResult, type PaylineReceiver } from './payline';
import { backoffDelayMs, type RetryPolicy } from '../lib/backoff';
import { startQueueLoop } from '../lib/queue-loop';

export interface PaylineFetcherOptions {
  pollMs: number;
  /** Time allowed to one fetch, failover chain included. */
  attemptTimeoutMs: number;
  /** Attempts before a fetch is dead (kept for support, with its last error), and the backoff between them. */
  policy: RetryPolicy;
}

/**
 * A pass every 15 s; a fetch gets 20 s; retries from about a minute, doubling, at most an hour
 * (Payline outages are measured in minutes, rarely hours): some three days of attempts.
 */
export const PAYLINE_FETCHES: PaylineFetcherOptions = { pollMs: 15_000, attemptTimeoutMs: 20_000, policy: { maxAttempts: 100, backoffBaseMs: 60_000, backoffMaxMs: 3_600_000 } };

/**
 * One pass over the due fetches: each is fetched (with source failover) and, once Payline
 * answers, ingested exactly like a notification answered in time, as a call of origin `fetch`.
 * Returns how many were settled (done or dead).
 */
export async function runPaylineFetches(database: DatabaseHandle, receiver: PaylineReceiver, options: PaylineFetcherOptions, logger?: Logger): Promise<number> {
  const claimed = await claimDueFetches(database.db, 8, options.attemptTimeoutMs * 2 + 5000);
  let settled = 0;
  for (const fetch of claimed) {
    if (await settle(database, receiver, fetch, options, logger)) settled++;
  }
  return settled;
}

async function settle(database: DatabaseHandle, receiver: PaylineReceiver, fetch: ClaimedFetch, options: PaylineFetcherOptions, logger?: Logger): Promise<boolean> {
  const result = await fetchPaylineResult(fetch.raw_query, receiver, AbortSignal.timeout(options.attemptTimeoutMs));
  const delivery: DeliveryInput = { provider: 'payline', origin: 'fetch', request_id: null, source_ip: 'payline-fetch', content_type: null, raw_body: Buffer.alloc(0), raw_query: fetch.raw_query, signature_header: null };
  if (result.ok && result.notifications.length > 0) {
    await settleCall(database, delivery, result);
    await markFetchDone(database.db, fetch.id);
    logger?.info({ fetchId: fetch.id, attempts: fetch.attempts }, 'deferred Payline result fetched and applied');
    return true;
  }
  const reason = result.ok ? (result.ignored ?? 'nothing to apply') : result.rejection.reason;
  const retryable = !result.ok && result.rejection.verdict === 'unavailable' && fetch.attempts < options.policy.maxAttempts;
  if (retryable) {
    await markFetchFailed(database.db, fetch.id, reason, backoffDelayMs(fetch.attempts, options.policy));
    return false;
  }
  // Payline answered and the answer cannot be applied, or every attempt failed: recorded for support.
  await recordCall(database, delivery, result.ok ? 'unknown_status' : result.rejection.verdict, reason);
  await markFetchFailed(database.db, fetch.id, reason, null);
  logger?.warn({ fetchId: fetch.id, attempts: fetch.attempts, reason }, 'deferred Payline fetch given up');
  return true;
}

export interface PaylineFetcher {
  stop(): Promise<void>;
}

/** Runs a pass every `pollMs` on the queues' loop until stopped; a pass in progress finishes first. */
export async function startPaylineFetcher(database: DatabaseHandle, receiver: PaylineReceiver, options: PaylineFetcherOptions, logger: Logger): Promise<PaylineFetcher> {
  const loop = await startQueueLoop({
    // A fetch is due minutes after the call at the earliest: a poll finds it in time.
    pass: async () => {
      await runPaylineFetches(database, receiver, options, logger);
      return options.pollMs;
    },
    pollMs: options.pollMs,
    onError: (error) => logger.warn({ err: error }, 'Payline fetch pass failed; the next pass retries'),
  });
  return { stop: () => loop.stop() };
}
