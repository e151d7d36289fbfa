import type { NormalizedNotification } from './notification';

/**
 * The identity of a logical event, built only from what identifies the event, never from
 * per-call fields (`vads_hash`, `signature`, `vads_url_check_src`), so that automatic retries
 * and back-office resends with the same status are duplicates, and a changed status is a new
 * event. The wire format is not part of it: the same event seen as a form and as a REST
 * notification is one notification. JSON array encoding keeps components unambiguous.
 */
export function notificationDedupKey(n: NormalizedNotification): string {
  // One event may carry several notifications (a charge's refunds): the transaction tells them apart.
  if (n.eventId !== undefined) return JSON.stringify([n.provider, n.shopId, n.mode, 'event', n.eventId, n.transactionId]);
  const subject = n.transactionId !== null ? `tx:${n.transactionId}` : `order:${n.orderId}`;
  return JSON.stringify([n.provider, n.shopId, n.mode, subject, n.operation, n.statusRaw, n.sequenceNumber]);
}
