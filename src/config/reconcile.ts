import { ConfigError, integer } from '../lib/variables';

export interface ReconcileConfig {
  /** A sweep every this many seconds; 0: no sweep (the route still asks one order on demand). */
  intervalS: number;
  /** An order is asked about once it has waited this long without a final notification. */
  afterS: number;
  /** … and no longer once it is older than this. */
  maxAgeS: number;
}

/** The reconciliation worker: which orders it asks the platforms about, and how often. */
export const RECONCILE_VARIABLES = {
  intervalS: integer('RECONCILE_INTERVAL_S', 300, 0, 86_400, {
    description: 'seconds between two sweeps of the reconciliation worker, which asks the platforms about orders left without a final notification ([reconciliation.md](reconciliation.md)); `0` turns the sweep off',
  }),
  afterS: integer('RECONCILE_AFTER_S', 1800, 60, 2_592_000, {
    description: 'an order still pending, or an expected payment with no notification, is asked about once this old; past the platforms\' own retries (Lyra: an hour, Payline: two)',
  }),
  maxAgeS: integer('RECONCILE_MAX_AGE_S', 604_800, 3600, 31_536_000, { description: 'orders older than this are no longer asked about' }),
};

export function reconcileConfig(values: ReconcileConfig): ReconcileConfig {
  if (values.maxAgeS <= values.afterS) throw new ConfigError('RECONCILE_MAX_AGE_S', `must be above RECONCILE_AFTER_S (${values.afterS})`);
  return values;
}
