import type { Provider } from '../domain/notification';
import type { IpnProvider } from '../providers/types';
import { recordCall, settleCall, type SettledCall } from '../ingest/settle';
import type { DeliveryInput } from '../store/deliveries';
import type { DatabaseHandle } from '../store/database';
import { conflict } from './problem';
import { EXCHANGE_ORIGINS } from '../store/audit';

export interface StoredCall {
  id: number;
  provider: string;
  origin: string;
  content_type: string | null;
  raw_body: Uint8Array | null;
  raw_query: string | null;
  signature_header: string | null;
  received_at: Date;
  erased_at: Date | null;
}

export interface Replayer {
  sourceIp: string;
  requestId: string | null;
}

export type ReplayResult = SettledCall;

/**
 * Runs a stored body through verification (with today's keys) and processing again, exactly as
 * if the platform had sent it now, and records it as a call of origin `replay`. Processing is
 * idempotent: a notification already applied comes out as a duplicate and changes nothing.
 */
export async function replayCall(database: DatabaseHandle, providers: ReadonlyMap<Provider, IpnProvider>, call: StoredCall, by: Replayer): Promise<ReplayResult> {
  if ((EXCHANGE_ORIGINS as readonly string[]).includes(call.origin)) throw conflict(`delivery ${call.id} is an exchange with the platform's API (origin ${call.origin}), not a notification: reconcile the order to ask again`);
  if (call.erased_at !== null) throw conflict(`delivery ${call.id}: its personal data was erased on ${call.erased_at.toISOString()}, so nothing is left to replay`);
  if (call.raw_body === null) throw conflict(`delivery ${call.id} has no stored body: it was purged after RETENTION_DAYS, or never kept (source not allowed)`);
  const provider = providers.get(call.provider as Provider);
  if (provider === undefined) throw conflict(`delivery ${call.id} is for provider ${call.provider}, which this service does not receive`);
  const body = Buffer.from(call.raw_body);
  const delivery: DeliveryInput = { provider: provider.name, origin: 'replay', request_id: by.requestId, source_ip: by.sourceIp, content_type: call.content_type, raw_body: body, raw_query: call.raw_query, signature_header: call.signature_header };

  // Verified as received: a signature timestamp is judged against the original call's time.
  const result = await provider.handle({ body, query: call.raw_query ?? '', signature: call.signature_header, receivedAt: call.received_at });
  if (!result.ok) return recordCall(database, delivery, result.rejection.verdict, result.rejection.reason);
  // A replay is an operator's action: if the platform cannot be asked now, they try again later.
  if (result.deferred !== undefined) return recordCall(database, delivery, 'unavailable', result.ignored ?? 'the platform did not answer in time');
  return settleCall(database, delivery, result);
}
