import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Metrics, RelayOutcome } from '../metrics';
import type { Unlisten } from '../store/database';
import { claimDueEvents, markDelivered, markFailed, msUntilNextDue, OUTBOX_CHANNEL, type ClaimedEvent } from '../store/outbox';
import type { Database } from '../store/schema';
import { postEvent } from './post';
import { createHttpClient } from '../outbound/http-client';
import type { RetryPolicy } from '../lib/backoff';
import { nextStepAfterFailure } from './retry-policy';
import { signWebhook } from './signer';

export interface RelayOptions {
  url: string;
  /** The decoded `ORDER_EVENTS_SECRET`. */
  key: Uint8Array;
  timeoutMs: number;
  /** Deliveries in flight at once, each for a different order. */
  concurrency: number;
  /** Longest sleep between two looks at the table when no NOTIFY arrives. */
  pollMs: number;
  policy: RetryPolicy;
}

export interface RelayDeps {
  db: Kysely<Database>;
  listen: (channel: string, onNotify: () => void) => Promise<Unlisten>;
  logger: Logger;
  metrics: Pick<Metrics, 'relayAttempts' | 'relayAttemptSeconds'>;
  /** Names this relay in `claimed_by`; unique per process by default. */
  relayId?: string;
}

export interface Relay {
  readonly id: string;
  start(): Promise<void>;
  /** Stops claiming, then waits for the attempts in flight to be sent and recorded. */
  stop(): Promise<void>;
}

export const RELAY_USER_AGENT = 'ipn-receiver-relay/1';

/**
 * A claim outlives the longest attempt (the POST timeout, then recording it) with room to spare,
 * so a live relay never sees its event claimed again; a dead relay's events come due after it.
 */
export function claimLeaseMs(timeoutMs: number): number {
  return 2 * timeoutMs + 5000;
}

/** Wakes a sleeping loop; a wake while it is busy is kept for its next sleep, never lost. */
class WakeSignal {
  private pending = false;
  private resolve: (() => void) | null = null;

  wake(): void {
    const resolve = this.resolve;
    this.resolve = null;
    if (resolve) resolve();
    else this.pending = true;
  }

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.resolve = null;
        resolve();
      }, ms);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

export function createRelay(options: RelayOptions, deps: RelayDeps): Relay {
  const { db, logger, metrics } = deps;
  const id = deps.relayId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const log = logger.child({ relay: id });
  const leaseMs = claimLeaseMs(options.timeoutMs);
  // The whole attempt has ORDER_EVENTS_TIMEOUT_MS; so has its connection.
  const client = createHttpClient({ connectTimeoutMs: options.timeoutMs, connections: options.concurrency });
  const signal = new WakeSignal();
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let loop: Promise<void> | null = null;
  let unlisten: Unlisten | null = null;

  const record = async (event: ClaimedEvent, result: Awaited<ReturnType<typeof postEvent>>): Promise<RelayOutcome> => {
    if (result.ok) return (await markDelivered(db, event)) ? 'delivered' : 'claim_expired';
    const step = nextStepAfterFailure(event.attempts, result.retryAfterMs, options.policy);
    const failure = { error: result.error, dead: step.dead, retryInMs: step.dead ? 0 : step.retryInMs };
    if (!(await markFailed(db, event, failure))) return 'claim_expired';
    const fields = { eventId: event.id, aggregateId: event.aggregateid, type: event.type, attempt: event.attempts, error: result.error };
    if (step.dead) log.error(fields, 'order event is dead: attempt limit reached');
    else log.warn({ ...fields, retryInMs: failure.retryInMs }, 'order event delivery failed; will retry');
    return step.dead ? 'dead' : 'retry';
  };

  const attempt = async (event: ClaimedEvent): Promise<void> => {
    const body = JSON.stringify(event.payload);
    const headers = {
      'content-type': 'application/json',
      'user-agent': RELAY_USER_AGENT,
      ...signWebhook({ id: event.id, timestamp: Math.floor(Date.now() / 1000), body }, options.key),
    };
    const started = performance.now();
    const result = await postEvent(client, options.url, headers, body, options.timeoutMs);
    metrics.relayAttemptSeconds.observe((performance.now() - started) / 1000);
    let outcome: RelayOutcome;
    try {
      outcome = await record(event, result);
    } catch (error) {
      log.error({ err: error, eventId: event.id }, 'cannot record the attempt; the event will be attempted again when its claim expires');
      outcome = 'unrecorded';
    }
    if (outcome === 'claim_expired') log.warn({ eventId: event.id }, 'claim expired before the attempt was recorded; another attempt owns the event');
    metrics.relayAttempts.inc({ outcome });
  };

  const track = (event: ClaimedEvent): void => {
    const running: Promise<void> = attempt(event).finally(() => {
      inFlight.delete(running);
      signal.wake();
    });
    inFlight.add(running);
  };

  /** How long to sleep when nothing more can be claimed now. */
  const idleMs = async (): Promise<number> => {
    // With attempts in flight, their completion wakes the loop; idle, the next retry may be sooner than a poll.
    if (inFlight.size > 0) return options.pollMs;
    try {
      const next = await msUntilNextDue(db);
      return next === null ? options.pollMs : Math.min(options.pollMs, Math.max(next, 10));
    } catch {
      return options.pollMs;
    }
  };

  const run = async (): Promise<void> => {
    while (!stopping) {
      const free = options.concurrency - inFlight.size;
      if (free > 0) {
        try {
          const events = await claimDueEvents(db, id, free, leaseMs);
          for (const event of events) track(event);
          if (events.length === free) continue;
        } catch (error) {
          log.error({ err: error }, 'cannot claim order events; retrying after the poll interval');
          await signal.sleep(options.pollMs);
          continue;
        }
      }
      if (stopping) break;
      await signal.sleep(await idleMs());
    }
    await Promise.allSettled([...inFlight]);
  };

  return {
    id,
    async start() {
      if (loop !== null) return;
      unlisten = await deps.listen(OUTBOX_CHANNEL, () => signal.wake());
      log.info({ target: new URL(options.url).origin, concurrency: options.concurrency, maxAttempts: options.policy.maxAttempts }, 'relay started');
      loop = run().catch((error: unknown) => log.fatal({ err: error }, 'relay loop failed'));
    },
    async stop() {
      stopping = true;
      signal.wake();
      if (inFlight.size > 0) log.info({ inFlight: inFlight.size }, 'relay stopping: waiting for attempts in flight');
      await loop;
      await unlisten?.();
      unlisten = null;
      await client.close();
    },
  };
}
