import type { Provider } from '../domain/notification';
import type { ProviderResult } from '../providers/types';
import type { DatabaseHandle } from '../store/database';
import type { Operator } from './paybox-direct';
import { settleCall, type SettledCall } from './settle';

/** The reconciliation's calls are recorded under this name, as an operator's are under their token's. */
export const RECONCILER: Operator = { tokenName: 'reconciliation', sourceIp: 'reconcile-worker', requestId: null };

/**
 * What asking a platform about one order gave:
 * - `changed`: the platform knew more, and it was applied (a missed notification, found);
 * - `unchanged`: the platform says what the service knows;
 * - `not_checkable`: the platform cannot be asked about this order (no credentials, no API to
 *   ask it by, no identifier to ask with), with why: reported, never retried, never guessed;
 * - `unknown_at_platform`: the platform knows no payment of this order (not paid, or not yet);
 * - `unavailable`: the platform did not answer: asked again later, with backoff.
 */
export const CHECK_OUTCOMES = ['changed', 'unchanged', 'not_checkable', 'unknown_at_platform', 'unavailable'] as const;
export type CheckOutcome = { outcome: (typeof CHECK_OUTCOMES)[number]; detail: string; changes: number };

export const notCheckable = (detail: string): CheckOutcome => ({ outcome: 'not_checkable', detail, changes: 0 });

/** What a platform's API said, as a call: its answer's JSON as the body, or the query it was asked by. */
export interface PlatformAnswer {
  provider: Provider;
  /** The URL that answered; else the result's own (Payline's failover says which endpoint did). */
  url?: string | undefined;
  json?: string;
  query?: string;
}

/**
 * A platform's answer applied as a call of origin `reconcile`, through the same decisions as a
 * notification; `changed` when it applied something.
 */
export async function applyFromPlatform(database: DatabaseHandle, answer: PlatformAnswer, result: Extract<ProviderResult, { ok: true }>): Promise<{ settled: SettledCall; changed: boolean }> {
  const settled = await settleCall(
    database,
    {
      provider: answer.provider,
      origin: 'reconcile',
      request_id: null,
      source_ip: RECONCILER.sourceIp,
      content_type: answer.json === undefined ? null : 'application/json',
      raw_body: Buffer.from(answer.json ?? ''),
      raw_query: answer.query ?? null,
      signature_header: null,
    },
    answer.url === undefined ? result : { ...result, fetchedFrom: answer.url },
  );
  return { settled, changed: settled.verdict === 'applied' };
}

/** One answer's outcome for the check: changed or unchanged, with the call's reply. */
export const outcomeOf = ({ settled, changed }: { settled: SettledCall; changed: boolean }): CheckOutcome => ({ outcome: changed ? 'changed' : 'unchanged', detail: settled.reply, changes: changed ? 1 : 0 });
