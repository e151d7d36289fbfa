import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  ipnCalls: Counter<'provider' | 'verdict' | 'status'>;
  ipnReplySeconds: Histogram<'provider'>;
}

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
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
