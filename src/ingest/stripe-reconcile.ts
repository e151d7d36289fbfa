import type { Logger } from 'pino';
import type { Metrics } from '../metrics';
import type { HttpClient } from '../outbound/http-client';
import { getPaymentIntent, listUndeliveredEvents } from '../outbound/stripe-api';
import type { OrderIdentity } from '../domain/events';
import type { TransactionState } from '../domain/order-status';
import { FieldError } from '../providers/fields';
import { normalizeStripeEvent, parseStripeEvent, type StripeEndpoint, type StripeEvent } from '../providers/stripe/events';
import type { DatabaseHandle } from '../store/database';
import { claimCursor, recordFinishedCheck, releaseCursor } from '../store/reconcile';
import { applyFromPlatform, notCheckable, type CheckOutcome } from './reconciler';

/** Stripe keeps the events of the last 30 days; the first sweep of an endpoint reads them all. */
const EVENTS_KEPT_S = 30 * 86_400;
const LEASE_MS = 10 * 60_000;
/** The list is read a day at a time, each day at most this many pages of 100 events. */
const DAY_S = 86_400;
const MAX_PAGES = 50;

export interface StripeEventsSweep {
  database: DatabaseHandle;
  endpoints: readonly StripeEndpoint[];
  apiUrl: string;
  client: HttpClient;
  /** Events younger than this are left to Stripe's own retries. */
  afterS: number;
  metrics?: Metrics;
  logger?: Logger;
}

type Listed = { kind: 'events'; events: { json: unknown; event: StripeEvent }[]; url: string; complete: boolean } | { kind: 'failed'; outcome: 'unavailable' | 'not_checkable'; detail: string };

/** Every undelivered event of the window, oldest first (Stripe lists newest first). */
async function listWindow(s: StripeEventsSweep, apiKey: string, from: number, to: number): Promise<Listed> {
  const events: { json: unknown; event: StripeEvent }[] = [];
  let startingAfter: string | undefined;
  let url = `${s.apiUrl}/v1/events`;
  let complete = false;
  for (let page = 0; page < MAX_PAGES; page++) {
    const listed = await listUndeliveredEvents(s.client, s.apiUrl, apiKey, { createdFrom: from, createdTo: to, ...(startingAfter === undefined ? {} : { startingAfter }) });
    if (listed.kind !== 'page') return { kind: 'failed', outcome: listed.kind, detail: listed.detail };
    url = listed.url;
    for (const json of listed.events) {
      try {
        events.push({ json, event: parseStripeEvent(json) });
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        s.logger?.warn({ reason: error.message }, 'reconciliation: an item of Stripe\'s event list is not an event; skipped');
      }
    }
    const last = events.at(-1)?.event.id;
    if (!listed.hasMore || last === undefined) {
      complete = true;
      break;
    }
    startingAfter = last;
  }
  events.sort((a, b) => (a.event.created ?? 0) - (b.event.created ?? 0));
  return { kind: 'events', events, url, complete };
}

/** One event applied as a call of origin `reconcile`; its check recorded. */
async function applyEvent(s: StripeEventsSweep, endpoint: StripeEndpoint, json: unknown, event: StripeEvent, url: string): Promise<void> {
  let meaning;
  try {
    meaning = normalizeStripeEvent(event, endpoint);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    meaning = { ignored: error.message };
  }
  if ('ignored' in meaning || meaning.notifications.length === 0) return;
  const { settled, changed } = await applyFromPlatform(s.database, { provider: 'stripe', url, json: JSON.stringify(json) }, { ok: true, notifications: meaning.notifications });
  const first = meaning.notifications[0] as (typeof meaning.notifications)[number];
  await recordFinishedCheck(s.database.db, { provider: 'stripe', shopId: first.shopId, mode: first.mode, orderId: settled.orderId ?? first.orderId, why: 'undelivered_event', state: 'done', outcome: changed ? 'changed' : 'unchanged', detail: `${event.id} ${event.type}: ${settled.reply}`, changes: changed ? 1 : 0 });
  s.metrics?.reconcileChecks.inc({ provider: 'stripe', outcome: changed ? 'changed' : 'unchanged' });
  if (changed) {
    s.metrics?.reconcileChanges.inc({ provider: 'stripe' });
    s.logger?.warn({ eventId: event.id, type: event.type, orderId: settled.orderId }, 'reconciliation found an event Stripe could not deliver: applied');
  }
}

/**
 * Reads, for each endpoint with an `apiKey`, the events Stripe could not deliver since the last
 * sweep (up to RECONCILE_AFTER_S ago: younger ones are still being retried by Stripe) and applies
 * them through the same decisions as a webhook: one delivered since is a duplicate. A key Stripe
 * refuses, or Stripe down, is recorded and the cursor stays: the next sweep asks again.
 */
export async function sweepStripeEvents(s: StripeEventsSweep, now = new Date()): Promise<void> {
  const to = Math.floor(now.getTime() / 1000) - s.afterS;
  for (const endpoint of s.endpoints) {
    if (endpoint.apiKey === undefined) continue;
    const since = await claimCursor(s.database.db, 'stripe', endpoint.id, new Date((to - EVENTS_KEPT_S) * 1000), LEASE_MS);
    if (since === null) continue;
    let until: Date | null = null;
    try {
      // A day at a time, oldest first; the cursor moves after each day read whole.
      for (let from = Math.floor(since.getTime() / 1000); from < to; from += DAY_S) {
        const dayEnd = Math.min(to, from + DAY_S);
        const listed = await listWindow(s, endpoint.apiKey, from, dayEnd);
        if (listed.kind === 'failed') {
          await recordFinishedCheck(s.database.db, { provider: 'stripe', shopId: endpoint.id, mode: endpoint.apiKey.includes('_live_') ? 'PRODUCTION' : 'TEST', orderId: '', why: 'undelivered_events', state: listed.outcome === 'not_checkable' ? 'unchecked' : 'done', outcome: listed.outcome, detail: listed.detail, changes: 0 });
          s.metrics?.reconcileChecks.inc({ provider: 'stripe', outcome: listed.outcome });
          break;
        }
        for (const { json, event } of listed.events) await applyEvent(s, endpoint, json, event, listed.url);
        if (!listed.complete) {
          s.logger?.warn({ endpoint: endpoint.id, from: new Date(from * 1000) }, `reconciliation: more than ${MAX_PAGES * 100} undelivered Stripe events in a day; the next sweep reads that day again`);
          break;
        }
        until = new Date(dayEnd * 1000);
      }
    } finally {
      await releaseCursor(s.database.db, 'stripe', endpoint.id, until);
    }
  }
}

/** The event a PaymentIntent's status is the outcome of, as its webhook would have said it. */
const EVENT_OF_STATUS: Readonly<Record<string, string>> = {
  succeeded: 'payment_intent.succeeded',
  canceled: 'payment_intent.canceled',
  requires_capture: 'payment_intent.amount_capturable_updated',
  processing: 'payment_intent.processing',
  requires_action: 'payment_intent.requires_action',
};

function eventOf(pi: Record<string, unknown>): string | null {
  const status = typeof pi.status === 'string' ? pi.status : '';
  if (status === 'requires_payment_method' && pi.last_payment_error !== null && pi.last_payment_error !== undefined) return 'payment_intent.payment_failed';
  return EVENT_OF_STATUS[status] ?? null;
}

/**
 * A pending Stripe order: its PaymentIntent read again (`GET /v1/payment_intents/{id}`, with the
 * endpoint's key) and its status applied as the event that says it would be. The event's id is
 * made of the PaymentIntent and its status, so asking twice applies once; a webhook that comes
 * later with the same status finds its transaction so already: a duplicate.
 */
export async function checkPaymentIntent(s: Pick<StripeEventsSweep, 'database' | 'endpoints' | 'apiUrl' | 'client'>, order: OrderIdentity, transactions: readonly Pick<TransactionState, 'transactionId'>[]): Promise<CheckOutcome> {
  const endpoint = s.endpoints.find((e) => e.id === order.shopId);
  if (endpoint === undefined) return notCheckable(`${order.shopId} is not an endpoint of STRIPE_ENDPOINTS (a Connect account's orders are asked with its Stripe-Account, not supported yet)`);
  if (endpoint.apiKey === undefined) return notCheckable(`endpoint ${endpoint.id} has no apiKey: Stripe cannot be asked`);
  const ids = [...new Set(transactions.map((t) => t.transactionId.split(':')[0] ?? '').filter((id) => id.startsWith('pi_')))];
  if (ids.length === 0) return notCheckable('no PaymentIntent of this order is known here: Stripe is asked by its id, which only its events bring');
  let changes = 0;
  const details: string[] = [];
  for (const id of ids) {
    const answer = await getPaymentIntent(s.client, s.apiUrl, endpoint.apiKey, id);
    if (answer.kind !== 'found') {
      if (ids.length === 1) return { outcome: answer.kind, detail: answer.detail, changes: 0 };
      details.push(answer.detail);
      continue;
    }
    const type = eventOf(answer.paymentIntent);
    const status = String(answer.paymentIntent.status);
    if (type === null) {
      details.push(`${id} is ${status}: nothing to apply`);
      continue;
    }
    const event: StripeEvent = { id: `evt_reconcile_${id}_${status}`, type, livemode: answer.paymentIntent.livemode === true, account: null, created: Math.floor(Date.now() / 1000), object: answer.paymentIntent };
    const meaning = normalizeStripeEvent(event, endpoint);
    if ('ignored' in meaning) {
      details.push(`${id}: ${meaning.ignored}`);
      continue;
    }
    const { settled, changed } = await applyFromPlatform(s.database, { provider: 'stripe', url: answer.url, json: JSON.stringify(answer.paymentIntent) }, { ok: true, notifications: meaning.notifications });
    if (changed) changes++;
    details.push(settled.reply);
  }
  return { outcome: changes > 0 ? 'changed' : 'unchanged', detail: details.join('; '), changes };
}
