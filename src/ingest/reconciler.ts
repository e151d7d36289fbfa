import type { Operator } from './paybox-direct';

/** The reconciliation's calls are recorded under this name, as an operator's are under their token's. */
export const RECONCILER: Operator = { tokenName: 'reconciliation', sourceIp: 'reconcile-worker', requestId: null };
