import type { Kysely } from 'kysely';
import type { Provider } from '../domain/notification';
import { describeSummary, type IpnProvider } from '../http/ipn';
import { replyLine, statusOf, type Verdict } from '../http/reply';
import { recordRejectedDelivery } from '../store/deliveries';
import { ingestNotifications, OrderNotKnownError, type DeliveryInput } from '../store/ingest';
import type { Database } from '../store/schema';
import { conflict } from './problem';

export interface StoredCall {
  id: number;
  provider: string;
  content_type: string | null;
  raw_body: Uint8Array | null;
  raw_query: string | null;
  signature_header: string | null;
  received_at: Date;
}

export interface Replayer {
  sourceIp: string;
  requestId: string | null;
}

export interface ReplayResult {
  deliveryId: number;
  verdict: string;
  httpStatus: number;
  reply: string;
  notificationIds: number[];
  orderId: string | null;
  orderStatus: string | null;
}

/**
 * Runs a stored body through verification (with today's keys) and processing again, exactly as
 * if the platform had sent it now, and records it as a call of origin `replay`. Processing is
 * idempotent: a notification already applied comes out as a duplicate and changes nothing.
 */
export async function replayCall(db: Kysely<Database>, providers: ReadonlyMap<Provider, IpnProvider>, call: StoredCall, by: Replayer): Promise<ReplayResult> {
  if (call.raw_body === null) throw conflict(`delivery ${call.id} has no stored body: it was purged after RETENTION_DAYS, or never kept (source not allowed)`);
  const provider = providers.get(call.provider as Provider);
  if (provider === undefined) throw conflict(`delivery ${call.id} is for provider ${call.provider}, which this service does not receive`);
  const body = Buffer.from(call.raw_body);
  const delivery: DeliveryInput = { provider: provider.name, origin: 'replay', request_id: by.requestId, source_ip: by.sourceIp, content_type: call.content_type, raw_body: body, raw_query: call.raw_query, signature_header: call.signature_header };

  // Verified as received: a signature timestamp is judged against the original call's time.
  const result = await provider.handle({ body, query: call.raw_query ?? '', signature: call.signature_header, receivedAt: call.received_at });
  // A call with nothing to apply is recorded with its verdict, as the route records it.
  const recordOnly = async (verdict: Verdict, reason: string): Promise<ReplayResult> => {
    const reply = replyLine(verdict, reason);
    const deliveryId = await recordRejectedDelivery(db, { ...delivery, verdict, reason, http_status: statusOf(verdict), reply });
    return { deliveryId, verdict, httpStatus: statusOf(verdict), reply, notificationIds: [], orderId: null, orderStatus: null };
  };
  if (!result.ok) return recordOnly(result.rejection.verdict, result.rejection.reason);
  // A replay is an operator's action: if the platform cannot be asked now, they try again later.
  if (result.deferred !== undefined) return recordOnly('unavailable', result.ignored ?? 'the platform did not answer in time');
  if (result.notifications.length === 0) return recordOnly('unknown_status', result.ignored ?? 'nothing to apply');
  delivery.fetched_from = result.fetchedFrom ?? null;
  let outcome;
  try {
    outcome = await ingestNotifications(db, delivery, result.notifications, describeSummary);
  } catch (error) {
    if (error instanceof OrderNotKnownError) return recordOnly('unavailable', error.message);
    throw error;
  }
  return {
    deliveryId: outcome.deliveryId,
    verdict: outcome.outcome,
    httpStatus: outcome.httpStatus,
    reply: outcome.reply,
    notificationIds: outcome.notificationIds,
    orderId: outcome.orderId,
    orderStatus: outcome.orderStatus,
  };
}
