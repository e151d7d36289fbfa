import type { Kysely } from 'kysely';
import type { NotAppliedKind, ProviderResult } from '../providers/types';
import { recordRejectedDelivery } from '../store/deliveries';
import { ingestNotifications, OrderNotKnownError, type DeliveryInput, type IngestLimits, type IngestSummary } from '../store/ingest';
import type { Database } from '../store/schema';
import { replyLine, statusOf, type Verdict } from './reply';

/** What became of one call, however it came (the route, a replay, a deferred fetch). */
export interface SettledCall {
  deliveryId: number;
  verdict: Verdict;
  httpStatus: number;
  reply: string;
  notificationIds: number[];
  orderId: string | null;
  orderStatus: string | null;
  /** Why an authentic call applied nothing (`unknown_status`: a status or operation not known); null otherwise. */
  notApplied: NotAppliedKind | 'unknown_status' | null;
}

export function describeSummary(summary: IngestSummary): { httpStatus: number; reply: string } {
  const detail = `order ${summary.orderId}: ${summary.detail}`;
  return { httpStatus: statusOf(summary.outcome), reply: replyLine(summary.outcome, detail) };
}

/** A call that applies nothing, recorded with its verdict and reason. */
export async function recordCall(db: Kysely<Database>, delivery: DeliveryInput, verdict: Verdict, reason: string, notApplied: NotAppliedKind | null = null): Promise<SettledCall> {
  const reply = replyLine(verdict, reason);
  const deliveryId = await recordRejectedDelivery(db, { ...delivery, verdict, reason, http_status: statusOf(verdict), reply });
  return { deliveryId, verdict, httpStatus: statusOf(verdict), reply, notificationIds: [], orderId: null, orderStatus: null, notApplied };
}

/**
 * An authentic call's result: its notifications applied in one transaction; or, when there is
 * nothing to apply (an event about no order) or not yet (a refund before its payment), the call
 * recorded with the reason.
 */
export async function settleCall(db: Kysely<Database>, delivery: DeliveryInput, result: Extract<ProviderResult, { ok: true }>, limits?: IngestLimits): Promise<SettledCall> {
  if (result.notifications.length === 0) return recordCall(db, delivery, 'unknown_status', result.ignored ?? 'nothing to apply', result.ignoredKind ?? 'not_for_orders');
  try {
    const outcome = await ingestNotifications(db, { ...delivery, fetched_from: result.fetchedFrom ?? null }, result.notifications, describeSummary, limits);
    const { deliveryId, notificationIds, orderId, orderStatus } = outcome;
    const notApplied = outcome.outcome === 'unknown_status' ? 'unknown_status' : null;
    return { deliveryId, verdict: outcome.outcome, httpStatus: outcome.httpStatus, reply: outcome.reply, notificationIds, orderId, orderStatus, notApplied };
  } catch (error) {
    // A refund whose payment has not arrived yet (deliveries are unordered): a later call applies it.
    if (error instanceof OrderNotKnownError) return recordCall(db, delivery, 'unavailable', error.message);
    throw error;
  }
}
