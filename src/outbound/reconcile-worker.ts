import type { Logger } from 'pino';
import type { ReconcileConfig } from '../config/reconcile';
import type { OrderChecker } from '../ingest/reconcile';
import type { CheckOutcome } from '../ingest/reconciler';
import { backoffDelayMs, type RetryPolicy } from '../lib/backoff';
import { startQueueLoop } from '../lib/queue-loop';
import type { Metrics } from '../metrics';
import type { DatabaseHandle } from '../store/database';
import { claimDueChecks, finishCheck, msUntilNextCheck, sweep, type CheckResult, type CheckRow } from '../store/reconcile';

export interface ReconcileWorkerOptions {
  config: ReconcileConfig;
  /** Longest sleep between two passes. */
  pollMs: number;
  /** Checks claimed per pass, and how long a claim holds. */
  batch: number;
  leaseMs: number;
  /** Attempts while the platform does not answer, and the backoff between them. */
  policy: RetryPolicy;
}

/**
 * A pass every 15 s at most; a platform that does not answer is asked again after a minute,
 * doubling up to an hour, for some two days; a claim outlives one check's questions (each
 * bounded by the platform's timeout) by a wide margin.
 */
export const RECONCILE_WORKER = { pollMs: 15_000, batch: 8, leaseMs: 10 * 60_000, policy: { maxAttempts: 60, backoffBaseMs: 60_000, backoffMaxMs: 3_600_000 } } as const;

/** What becomes of a check after an answer: done, reported as not checkable, or asked again. */
export function resultOf(check: Pick<CheckRow, 'attempts'>, answer: CheckOutcome, policy: RetryPolicy): CheckResult {
  const base = { outcome: answer.outcome, detail: answer.detail, changes: answer.changes };
  if (answer.outcome === 'changed' || answer.outcome === 'unchanged' || answer.outcome === 'unknown_at_platform') return { ...base, state: 'done' };
  if (answer.outcome === 'not_checkable') return { ...base, state: 'unchecked' };
  if (check.attempts >= policy.maxAttempts) return { ...base, state: 'dead' };
  return { ...base, state: 'pending', retryInMs: backoffDelayMs(check.attempts, policy) };
}

/** One pass over the due checks; returns how many it claimed. */
export async function runReconcileChecks(database: DatabaseHandle, check: OrderChecker, options: Omit<ReconcileWorkerOptions, 'config' | 'pollMs'>, metrics?: Metrics, logger?: Logger): Promise<number> {
  const claimed = await claimDueChecks(database.db, options.batch, options.leaseMs);
  for (const row of claimed) {
    const identity = { provider: row.provider, shopId: row.shop_id, mode: row.mode, orderId: row.order_id };
    let answer: CheckOutcome;
    try {
      answer = await check(identity, row.why);
    } catch (error) {
      answer = { outcome: 'unavailable', detail: `the check failed: ${(error as Error).message}`, changes: 0 };
    }
    const result = resultOf(row, answer, options.policy);
    await finishCheck(database.db, row.id, result);
    metrics?.reconcileChecks.inc({ provider: row.provider, outcome: answer.outcome });
    if (answer.changes > 0) {
      metrics?.reconcileChanges.inc({ provider: row.provider }, answer.changes);
      logger?.warn({ ...identity, changes: answer.changes, detail: answer.detail }, 'reconciliation found what no notification said: applied');
    }
    if (result.state === 'dead') logger?.error({ ...identity, attempts: row.attempts, detail: answer.detail }, 'reconciliation check given up: the platform did not answer');
  }
  return claimed.length;
}

export interface Reconciler {
  stop(): Promise<void>;
}

/** The sweep every RECONCILE_INTERVAL_S and the checks it queues, on the queues' loop. */
export async function startReconciler(database: DatabaseHandle, checkers: { check: OrderChecker; sweeps: readonly (() => Promise<void>)[] }, options: ReconcileWorkerOptions, logger: Logger, metrics?: Metrics): Promise<Reconciler> {
  const { check } = checkers;
  const { config } = options;
  let nextSweepAt = 0;
  const pass = async (): Promise<number> => {
    if (config.intervalS > 0 && Date.now() >= nextSweepAt) {
      nextSweepAt = Date.now() + config.intervalS * 1000;
      const queued = await sweep(database.db, { afterS: config.afterS, maxAgeS: config.maxAgeS, againAfterS: config.intervalS });
      if (queued > 0) logger.info({ queued }, 'reconciliation sweep: orders to ask the platforms about');
      // The platforms' lists of undelivered events; one failing does not stop the others.
      for (const platformSweep of checkers.sweeps) await platformSweep().catch((error: unknown) => logger.warn({ err: error }, 'reconciliation: reading a platform\'s undelivered events failed; the next sweep retries'));
    }
    if ((await runReconcileChecks(database, check, options, metrics, logger)) === options.batch) return 0;
    const due = (await msUntilNextCheck(database.db)) ?? options.pollMs;
    const untilSweep = config.intervalS > 0 ? nextSweepAt - Date.now() : options.pollMs;
    return Math.max(10, Math.min(due, untilSweep, options.pollMs));
  };
  const loop = await startQueueLoop({ pass, pollMs: options.pollMs, onError: (error) => logger.warn({ err: error }, 'reconciliation pass failed; the next pass retries') });
  return { stop: () => loop.stop() };
}
