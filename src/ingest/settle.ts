import type { NotificationOutcome } from '../domain/decide';
import type { WalletDecision, WalletNotification } from '../domain/wallet';
import type { DeferredFetch, NotAppliedKind, ProviderResult } from '../providers/types';
import { writeWallet } from './wallet';
import { recordRejectedDelivery } from '../store/deliveries';
import { recordDeferredFetch } from '../store/payline-fetches';
import type { DeliveryInput } from '../store/deliveries';
import { OrderNotKnownError } from './errors';
import { ingestNotifications, type IngestLimits, type IngestSummary } from './orders';
import type { DatabaseHandle } from '../store/database';
import { replyLine, statusOf, type Verdict } from './verdicts';

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

/** The reply of an order's notifications; `also` adds what the call said of tokens or subscriptions. */
export function describeSummary(summary: IngestSummary, also: string | null = null): { httpStatus: number; reply: string } {
  const detail = `order ${summary.orderId}: ${summary.detail}${also === null ? '' : `; ${also}`}`;
  return { httpStatus: statusOf(summary.outcome), reply: replyLine(summary.outcome, detail) };
}

/** Of several decisions, the most telling speaks for the call: applied, then stale, then not applied. */
const RANK: readonly NotificationOutcome[] = ['applied', 'stale', 'unknown_status', 'duplicate'];

/** The call's verdict, reason and reply, from what was decided of its tokens and subscriptions. */
function describeWallet(decisions: readonly WalletDecision[]) {
  const verdict = RANK.find((outcome) => decisions.some((d) => d.outcome === outcome)) ?? 'duplicate';
  const reason = decisions.map((d) => d.detail).join('; ');
  return { verdict, reason, http_status: statusOf(verdict), reply: replyLine(verdict, reason) };
}

/** A call about tokens or subscriptions only: decided, written and recorded in one transaction. */
async function settleWallet(database: DatabaseHandle, delivery: DeliveryInput, wallet: readonly WalletNotification[], limits?: IngestLimits): Promise<SettledCall> {
  const written = await writeWallet(database.db, wallet, { commitBy: limits?.commitBy ?? null, delivery: (made) => ({ ...delivery, ...describeWallet(made) }) });
  const { verdict, http_status: httpStatus, reply } = describeWallet(written.decisions);
  return { deliveryId: written.deliveryId as number, verdict, httpStatus, reply, notificationIds: [], orderId: null, orderStatus: null, notApplied: verdict === 'unknown_status' ? 'unknown_status' : null };
}

/** A call that applies nothing, recorded with its verdict and reason. */
export async function recordCall(database: DatabaseHandle, delivery: DeliveryInput, verdict: Verdict, reason: string, notApplied: NotAppliedKind | null = null): Promise<SettledCall> {
  const reply = replyLine(verdict, reason);
  const deliveryId = await recordRejectedDelivery(database.db, { ...delivery, verdict, reason, http_status: statusOf(verdict), reply });
  return { deliveryId, verdict, httpStatus: statusOf(verdict), reply, notificationIds: [], orderId: null, orderStatus: null, notApplied };
}

/**
 * An authentic call's result: its notifications applied in one transaction; or, when there is
 * nothing to apply (an event about no order) or not yet (a refund before its payment), the call
 * recorded with the reason.
 */
export async function settleCall(database: DatabaseHandle, delivery: DeliveryInput, result: Extract<ProviderResult, { ok: true }>, limits?: IngestLimits): Promise<SettledCall> {
  const wallet = result.wallet ?? [];
  if (result.notifications.length === 0 && wallet.length === 0) return recordCall(database, delivery, 'unknown_status', result.ignored ?? 'nothing to apply', result.ignoredKind ?? 'not_for_orders');
  if (result.notifications.length === 0) return settleWallet(database, delivery, wallet, limits);
  // The token or subscription first, in its own transaction: should the order's write then fail,
  // the platform's retry finds them written and announces them no second time.
  const also = wallet.length === 0 ? null : describeWallet((await writeWallet(database.db, wallet, { commitBy: limits?.commitBy ?? null })).decisions).reason;
  try {
    const outcome = await ingestNotifications(database, { ...delivery, fetched_from: result.fetchedFrom ?? null }, result.notifications, (summary) => describeSummary(summary, also), limits);
    const { deliveryId, notificationIds, orderId, orderStatus } = outcome;
    const notApplied = outcome.outcome === 'unknown_status' ? 'unknown_status' : null;
    return { deliveryId, verdict: outcome.outcome, httpStatus: outcome.httpStatus, reply: outcome.reply, notificationIds, orderId, orderStatus, notApplied };
  } catch (error) {
    // A refund whose payment has not arrived yet (deliveries are unordered): a later call applies it.
    if (error instanceof OrderNotKnownError) return recordCall(database, delivery, 'unavailable', error.message);
    throw error;
  }
}

/**
 * Of a rejected call's body, this much is kept with its full length: enough to see what it was,
 * not enough for forged traffic to fill the database.
 */
export const REJECTED_BODY_KEPT_BYTES = 8192;

/** A call refused (not proved authentic, or unreadable): recorded with the start of its body. */
export async function recordRejectedCall(database: DatabaseHandle, delivery: DeliveryInput, verdict: Verdict, reason: string): Promise<number> {
  const body = delivery.raw_body;
  const kept = body !== null && body !== undefined && body.length > REJECTED_BODY_KEPT_BYTES ? { raw_body: body.subarray(0, REJECTED_BODY_KEPT_BYTES), raw_length: body.length } : {};
  return (await recordCall(database, { ...delivery, ...kept }, verdict, reason)).deliveryId;
}

/** A call whose result is to be fetched later (Payline): recorded with its durable fetch in one transaction. */
export async function recordDeferredCall(database: DatabaseHandle, delivery: DeliveryInput, fetch: DeferredFetch, reason: string): Promise<{ deliveryId: number; reply: string }> {
  const reply = replyLine('deferred', reason);
  const deliveryId = await recordDeferredFetch(database.db, { ...delivery, verdict: 'deferred', reason, http_status: statusOf('deferred'), reply }, fetch);
  return { deliveryId, reply };
}
