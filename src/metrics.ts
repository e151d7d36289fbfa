import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats } from './store/outbox';

export type RelayOutcome = 'delivered' | 'retry' | 'dead' | 'claim_expired' | 'unrecorded';

export interface Metrics {
  registry: Registry;
  ipnCalls: Counter<'provider' | 'verdict' | 'status'>;
  ipnReplySeconds: Histogram<'provider'>;
  ipnUnrecorded: Counter<'provider' | 'verdict'>;
  ipnNotApplied: Counter<'provider' | 'kind'>;
  paylineFetchesRefused: Counter;
  relayAttempts: Counter<'outcome'>;
  relayAttemptSeconds: Histogram;
  reconcileChecks: Counter<'provider' | 'outcome'>;
  reconcileChanges: Counter<'provider'>;
}

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One registry per app, so several apps (tests) never share counters. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    ipnCalls: new Counter({
      name: 'ipn_calls_total',
      help: 'Notification calls by provider, verdict and HTTP status',
      labelNames: ['provider', 'verdict', 'status'],
      registers: [registry],
    }),
    ipnReplySeconds: new Histogram({
      name: 'ipn_reply_seconds',
      help: 'Time from request to reply on the notification routes',
      labelNames: ['provider'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    ipnUnrecorded: new Counter({
      name: 'ipn_calls_unrecorded_total',
      help: 'Calls from disallowed sources answered but not written to the audit table (over the per-source or global budget of the minute)',
      labelNames: ['provider', 'verdict'],
      registers: [registry],
    }),
    ipnNotApplied: new Counter({
      name: 'ipn_not_applied_total',
      help: 'Authentic notifications recorded and answered 2xx without changing an order, by kind: not_for_orders, unrecognized (a shape not read yet), unconfigured (fix the configuration, then replay), unknown_status',
      labelNames: ['provider', 'kind'],
      registers: [registry],
    }),
    paylineFetchesRefused: new Counter({
      name: 'payline_fetches_refused_total',
      help: 'Payline triggers answered 503 without a fetch: their address had used its fetch budget of the minute (PAYLINE_FETCHES_PER_SOURCE, PAYLINE_FETCHES_PER_MINUTE)',
      registers: [registry],
    }),
    relayAttempts: new Counter({
      name: 'outbox_relay_attempts_total',
      help: 'Order event delivery attempts by outcome: delivered, retry, dead, claim_expired (another attempt took over), unrecorded (database error)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    relayAttemptSeconds: new Histogram({
      name: 'outbox_relay_attempt_seconds',
      help: 'Duration of one POST to ORDER_EVENTS_URL, reply included',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    reconcileChecks: new Counter({
      name: 'reconcile_checks_total',
      help: 'Orders asked about by the reconciliation worker, by provider and outcome: changed, unchanged, not_checkable (reported, not retried), unavailable (retried)',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    reconcileChanges: new Counter({
      name: 'reconcile_changes_total',
      help: 'Changes the reconciliation worker applied: each is a notification that was missed (alert on it)',
      labelNames: ['provider'],
      registers: [registry],
    }),
  };
}

const STATS_TTL_MS = 1000;

/**
 * Backlog gauges read from the outbox table at scrape time, so they are right whichever process
 * (or Debezium) consumes the rows. One query serves all three gauges of a scrape.
 */
/** Gauges read from a queue table at scrape time, one query per scrape window whatever their number. */
function registerQueueGauges(registry: Registry, readStats: () => Promise<QueueStats>, gauges: readonly { name: string; help: string; pick: (s: QueueStats) => number }[]): void {
  let cached: { at: number; stats: Promise<QueueStats> } | null = null;
  const stats = (): Promise<QueueStats> => {
    if (cached === null || Date.now() - cached.at > STATS_TTL_MS) cached = { at: Date.now(), stats: readStats() };
    return cached.stats;
  };
  for (const { name, help, pick } of gauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        try {
          this.set(pick(await stats()));
        } catch {
          cached = null; // The database is down: the gauge keeps its last value; /readyz reports the outage.
        }
      },
    });
  }
}

export function registerOutboxGauges(registry: Registry, readStats: () => Promise<QueueStats>): void {
  registerQueueGauges(registry, readStats, [
    { name: 'outbox_pending_events', help: 'Order events not yet delivered (pending or retrying)', pick: (s) => s.pending },
    { name: 'outbox_oldest_pending_age_seconds', help: 'Age of the oldest undelivered order event, 0 when none', pick: (s) => s.oldestPendingAgeSeconds },
    { name: 'outbox_dead_events', help: 'Order events given up after the attempt limit', pick: (s) => s.dead },
  ]);
}

export function registerPaylineFetchGauges(registry: Registry, readStats: () => Promise<QueueStats>): void {
  registerQueueGauges(registry, readStats, [
    { name: 'payline_fetches_pending', help: 'Payline notifications whose result is still to be fetched', pick: (s) => s.pending },
    { name: 'payline_fetches_oldest_pending_age_seconds', help: 'Age of the oldest Payline result still to be fetched, 0 when none', pick: (s) => s.oldestPendingAgeSeconds },
    { name: 'payline_fetches_dead', help: 'Payline fetches given up (their last error is in payline_fetches)', pick: (s) => s.dead },
  ]);
}

/** The reconciliation queue's age, read at scrape time. */
export function registerReconcileGauge(registry: Registry, readAge: () => Promise<number>): void {
  registerQueueGauges(registry, async () => ({ pending: 0, dead: 0, oldestPendingAgeSeconds: await readAge() }), [
    { name: 'reconcile_oldest_pending_age_seconds', help: 'Age of the oldest reconciliation check not answered yet (a platform down, or a backlog), 0 when none', pick: (s) => s.oldestPendingAgeSeconds },
  ]);
}
