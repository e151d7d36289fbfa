import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Metrics, RelayOutcome } from '../metrics';
import type { Unlisten } from '../store/database';
import { startQueueLoop, type QueueLoop } from '../lib/queue-loop';
import { claimDueEvents, markAllDelivered, markFailed, msUntilNextDue, OUTBOX_CHANNEL, releaseClaims, type ClaimedEvent } from '../store/outbox';
import type { Database } from '../store/schema';
import { postEvent, type AttemptResult } from './post';
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
 * Events claimed ahead of the free slots, in multiples of the concurrency: the POSTs go on from
 * them while the next claim and record are in the database. Safe at any size: a claimed event
 * that waits longer than one timeout for a slot is handed back, never posted on a stale lease.
 */
export const CLAIM_AHEAD = 8;

/**
 * A claim outlives the longest attempt (the POST timeout, then recording it) with room to spare,
 * so a live relay never sees its event claimed again; a dead relay's events come due after it.
 */
export function claimLeaseMs(timeoutMs: number): number {
  return 2 * timeoutMs + 5000;
}

export function createRelay(options: RelayOptions, deps: RelayDeps): Relay {
  const { db, logger, metrics } = deps;
  const id = deps.relayId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const log = logger.child({ relay: id });
  const leaseMs = claimLeaseMs(options.timeoutMs);
  // The whole attempt has ORDER_EVENTS_TIMEOUT_MS; so has its connection.
  const client = createHttpClient({ connectTimeoutMs: options.timeoutMs, connections: options.concurrency });
  /** POSTs in flight, each for a different order: at most `concurrency`. */
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let loop: QueueLoop | null = null;

  type Posted = { event: ClaimedEvent; result: AttemptResult };
  type FailedAttemptResult = Extract<AttemptResult, { ok: false }>;
  /** Claimed, waiting for a free slot; one that waits more than a timeout is handed back. */
  const ready: { event: ClaimedEvent; claimedAt: number }[] = [];
  /** Posted, waiting to be recorded with the next batch. */
  const posted: Posted[] = [];
  /** Claimed but never posted (stopping, or waited too long for a slot): handed back on the next batch. */
  const unposted: ClaimedEvent[] = [];

  const recordFailure = async (event: ClaimedEvent, { error, retryAfterMs }: FailedAttemptResult): Promise<RelayOutcome> => {
    const step = nextStepAfterFailure(event.attempts, retryAfterMs, options.policy);
    const failure = { error, dead: step.dead, retryInMs: step.dead ? 0 : step.retryInMs };
    if (!(await markFailed(db, event, failure))) return 'claim_expired';
    const fields = { eventId: event.id, aggregateId: event.aggregateid, type: event.type, attempt: event.attempts, error };
    if (step.dead) log.error(fields, 'order event is dead: attempt limit reached');
    else log.warn({ ...fields, retryInMs: failure.retryInMs }, 'order event delivery failed; will retry');
    return step.dead ? 'dead' : 'retry';
  };

  const count = (event: ClaimedEvent, outcome: RelayOutcome): void => {
    if (outcome === 'claim_expired') log.warn({ eventId: event.id }, 'claim expired before the attempt was recorded; another attempt owns the event');
    if (outcome === 'unrecorded') log.error({ eventId: event.id }, 'cannot record the attempt; the event will be attempted again when its claim expires');
    metrics.relayAttempts.inc({ outcome });
  };

  /** Every delivered attempt of the batch in one statement; each failure in its own, all at once. */
  const record = async (batch: Posted[]): Promise<void> => {
    const delivered = batch.filter((p) => p.result.ok).map((p) => p.event);
    const recording = markAllDelivered(db, delivered).then(
      (recorded) => delivered.forEach((event) => count(event, recorded.has(event.id) ? 'delivered' : 'claim_expired')),
      (error: unknown) => {
        log.error({ err: error, events: delivered.length }, 'cannot record delivered attempts');
        delivered.forEach((event) => count(event, 'unrecorded'));
      },
    );
    const failing = batch.flatMap(({ event, result }) =>
      result.ok
        ? []
        : [
            recordFailure(event, result).then(
              (outcome) => count(event, outcome),
              (err: unknown) => {
                log.error({ err, eventId: event.id }, 'cannot record the failed attempt');
                count(event, 'unrecorded');
              },
            ),
          ],
    );
    await Promise.all([recording, ...failing]);
  };

  const release = async (events: ClaimedEvent[]): Promise<void> => {
    if (events.length === 0) return;
    try {
      await releaseClaims(db, id, events);
    } catch (error) {
      log.warn({ err: error, events: events.length }, 'cannot hand back unposted claims; they come due when their claims expire');
    }
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
    posted.push({ event, result });
  };

  /** Fills the free slots from `ready`; a claim that waited a whole timeout is handed back instead, so no POST outlives its lease. */
  const startPosts = (): void => {
    while (!stopping && inFlight.size < options.concurrency && ready.length > 0) {
      const next = ready.shift() as (typeof ready)[number];
      if (performance.now() - next.claimedAt > options.timeoutMs) {
        unposted.push(next.event);
        continue;
      }
      const running: Promise<void> = attempt(next.event).finally(() => {
        inFlight.delete(running);
        startPosts();
        loop?.wake();
      });
      inFlight.add(running);
    }
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

  /** Claims up to what the slots and `ready` can hold: `full` when it got all it asked for. */
  const claim = async (): Promise<'full' | 'partial' | 'failed'> => {
    const room = (1 + CLAIM_AHEAD) * options.concurrency - inFlight.size - ready.length;
    if (room <= 0) return 'partial';
    try {
      const events = await claimDueEvents(db, id, room, leaseMs);
      const claimedAt = performance.now();
      for (const event of events) ready.push({ event, claimedAt });
      return events.length === room ? 'full' : 'partial';
    } catch (error) {
      log.error({ err: error }, 'cannot claim order events; retrying after the poll interval');
      return 'failed';
    }
  };

  /**
   * One pass records what was posted since the last one and claims more, at once on two
   * connections: a batch grows with the load, so a busy relay spends one commit on many events.
   * A claim running beside the record of an order's head cannot take the order's next event: the
   * head is still pending in its snapshot.
   */
  const pass = async (): Promise<number> => {
    const batch = posted.splice(0);
    const [, claimed] = await Promise.all([record(batch), claim(), release(unposted.splice(0))]);
    startPosts();
    if (claimed === 'failed') return options.pollMs;
    if (posted.length > 0 || claimed === 'full') return 0;
    return idleMs();
  };

  /** After the last pass: what is claimed and not posted goes back, what is posted is recorded. */
  const drain = async (): Promise<void> => {
    unposted.push(...ready.splice(0).map((r) => r.event));
    await Promise.allSettled([...inFlight]);
    await Promise.all([record(posted.splice(0)), release(unposted.splice(0))]);
  };

  return {
    id,
    async start() {
      if (loop !== null) return;
      loop = await startQueueLoop({
        pass,
        pollMs: options.pollMs,
        onError: (error) => log.error({ err: error }, 'relay pass failed; the next pass retries'),
        subscribe: (onNotify) => deps.listen(OUTBOX_CHANNEL, onNotify),
      });
      log.info({ target: new URL(options.url).origin, concurrency: options.concurrency, maxAttempts: options.policy.maxAttempts }, 'relay started');
    },
    async stop() {
      stopping = true;
      if (inFlight.size > 0) log.info({ inFlight: inFlight.size }, 'relay stopping: waiting for attempts in flight');
      await loop?.stop();
      await drain();
      await client.close();
    },
  };
}
