import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DatabaseHandle } from '../store/database';
import { decideDelivery, type Decision, type DeliveryDecision, type NotificationOutcome } from '../domain/decide';
import { notificationDedupKey } from '../domain/dedup-key';
import { buildEventPayload, orderAggregateId, orderIdentityOf, type OrderIdentity } from '../domain/events';
import type { NormalizedNotification, OrderStatus } from '../domain/notification';
import { NEW_ORDER, type TransactionState } from '../domain/order-status';
import type { DeliveryInput } from '../store/deliveries';
import {
  findOrderOfPayment,
  readStoredState,
  writeDelivery,
  type DecidedWrite,
  type LinkRecord,
  type NotificationRecord,
  type OutboxRecord,
  type StoredOrder,
  type StoredState,
  type WriteOutcome,
} from '../store/ingest-statements';
import type { Database } from '../store/schema';
import type { NotificationIds } from '../store/notification-ids';
import { isPastDeadline, isStateMoved, STATE_MOVED } from '../store/sqlstate';
import { DeadlineExceededError, OrderNotKnownError } from './errors';

export interface IngestSummary {
  outcome: NotificationOutcome;
  detail: string;
  orderId: string;
  orderStatus: OrderStatus | null;
  notificationIds: number[];
}

export interface IngestReply {
  httpStatus: number;
  reply: string;
}

/**
 * Fills in the order of notifications that name only the payment they refund (Stripe refunds),
 * from the transaction of that payment. Read before the write transaction: a payment's order
 * never changes once recorded.
 */
async function withOrderIds(db: Kysely<Database>, notifications: readonly NormalizedNotification[]): Promise<readonly NormalizedNotification[]> {
  const first = notifications[0] as NormalizedNotification;
  if (first.orderId !== '') return notifications;
  const payment = first.paymentOf;
  if (payment === undefined || payment === null) throw new OrderNotKnownError('the notification names neither its order nor its payment');
  const orderId = await findOrderOfPayment(db, first, payment);
  if (orderId === null) throw new OrderNotKnownError(`the order of payment ${payment} is not known yet`);
  return notifications.map((n) => (n.orderId === '' ? { ...n, orderId } : n));
}

interface Received {
  notification: NormalizedNotification;
  dedupKey: string;
  id: number;
  isNew: boolean;
}

/** Limits of a call answered over HTTP; replays and deferred fetches have none. */
export interface IngestLimits {
  /** Aborted when the reply deadline has been answered with 503: stop before writing. */
  signal?: AbortSignal;
  /** The write must reach its end before this time, or it rolls back. */
  commitBy?: Date;
}

/** Each failed attempt means another write on the order won: a few suffice even under a burst on one order. */
const MAX_ATTEMPTS = 20;

/**
 * Record one authentic delivery and everything it decides, atomically, in one statement: the
 * delivery, its notifications (a unique key decides duplicates, never a prior read alone), the
 * transactions and order projection, and the outbox rows.
 *
 * The decision is made in TypeScript (domain/decide.ts) on the order as last seen, then written
 * with a check that the order is still so and its new notifications still unrecorded: if not,
 * the statement writes nothing and brings the order as it is now, and the delivery is decided
 * again on it. A delivery is first decided on the order as this process last wrote or read it
 * (store/order-cache.ts), or else on an empty order without reading: one round trip for a new
 * order or a recent one, two for an order stored earlier or changed elsewhere (the failed guess
 * costs no rollback, and no other write of its batch anything). A notification recorded meanwhile
 * by a call still running rolls the statement back (40001): decided again on a fresh read.
 * If the reply deadline passes before the statement ends, it rolls back: the platform is told 503
 * and nothing is written.
 */
export async function ingestNotifications(
  database: DatabaseHandle,
  delivery: DeliveryInput,
  notifications: readonly NormalizedNotification[],
  describe: (summary: IngestSummary) => IngestReply,
  limits: IngestLimits = {},
): Promise<IngestSummary & IngestReply & { deliveryId: number }> {
  if (notifications[0] === undefined) throw new Error('a delivery carries at least one notification');
  const { db } = database;
  const resolved = await withOrderIds(db, notifications);
  const first = resolved[0] as NormalizedNotification;
  const identity = orderIdentityOf(first);
  const keys = resolved.map(notificationDedupKey);
  const ids = new Map<string, number>();
  const cacheKey = orderAggregateId(identity);
  // A refund found through its payment belongs to an order already recorded: no point guessing.
  let state: StoredState = database.orders.get(cacheKey) ?? (resolved === notifications ? NOTHING_STORED : await readStoredState(db, identity, keys));
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(limits.signal);
    const planned = await plan(database.notificationIds, identity, resolved, keys, state, ids);
    const reply = describe(planned.summary);
    const record = { ...delivery, verdict: planned.summary.outcome, reason: planned.summary.detail, http_status: reply.httpStatus, reply: reply.reply };
    throwIfAborted(limits.signal);
    let written: WriteOutcome;
    try {
      written = await writeDelivery(database, record, planned.links, planned.decided, limits.commitBy ?? null);
    } catch (error) {
      // Whether it committed may not be known (a lost connection): the next call reads the order.
      database.orders.drop(cacheKey);
      if (isPastDeadline(error)) throw new DeadlineExceededError();
      if (!isStateMoved(error) || attempt >= MAX_ATTEMPTS) throw error;
      state = await readStoredState(db, identity, keys);
      continue;
    }
    if (written.now === undefined) {
      if (planned.decided === null || written.written === null) database.orders.sawUnchanged(cacheKey, state);
      else database.orders.remember(cacheKey, ...stateAfter(state, planned.decided, written.written));
      return { ...planned.summary, ...reply, deliveryId: written.deliveryId };
    }
    if (attempt >= MAX_ATTEMPTS) throw Object.assign(new Error(`order ${identity.orderId} moved under ${MAX_ATTEMPTS} attempts in a row`), { code: STATE_MOVED });
    state = await nextState(db, identity, keys, state, written.now);
  }
}

/**
 * The state to decide on again after a write found its order moved: the order as that write
 * found it, and the notifications known before or recorded since. A write that waited for
 * another's commit read the order from before that commit (its snapshot is older): then it
 * shows nothing new, and the order is read afresh.
 */
async function nextState(db: Kysely<Database>, identity: OrderIdentity, keys: readonly string[], before: StoredState, found: StoredState): Promise<StoredState> {
  if (found.order?.version === before.order?.version && found.existing.size === 0) return readStoredState(db, identity, keys);
  return { order: found.order, existing: new Map([...before.existing, ...found.existing]) };
}

const NOTHING_STORED: StoredState = { order: null, existing: new Map() };

/** The order as a successful write left it (as a read would find it), and its notifications now recorded. */
function stateAfter(before: StoredState, decided: DecidedWrite, written: { id: number; version: string }): [StoredOrder, Map<string, number>] {
  const transactions = new Map((before.order?.transactions ?? []).map((t) => [t.transactionId, t]));
  for (const t of decided.transactions) transactions.set(t.transactionId, t);
  const order: StoredOrder = {
    id: written.id,
    version: written.version,
    state: decided.order,
    // In the order a read gives them (store/ingest-statements.ts).
    transactions: [...transactions.values()].sort((a, b) => a.lastNotificationId - b.lastNotificationId),
  };
  return [order, new Map([...before.existing, ...decided.notifications.map((n): [string, number] => [n.dedup_key, n.id])])];
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new DeadlineExceededError();
}

interface Plan {
  summary: IngestSummary;
  links: LinkRecord[];
  decided: DecidedWrite | null;
}

/** What the delivery does, decided on `state`: which notifications are new, and what they change. */
async function plan(
  notificationIds: NotificationIds,
  identity: OrderIdentity,
  notifications: readonly NormalizedNotification[],
  keys: readonly string[],
  state: StoredState,
  ids: Map<string, number>,
): Promise<Plan> {
  const freshKeys = [...new Set(keys)].filter((key) => !state.existing.has(key));
  const lacking = freshKeys.filter((key) => !ids.has(key));
  // An id drawn for an attempt that rolled back is still free: the next attempt reuses it.
  if (lacking.length > 0) (await notificationIds.take(lacking.length)).forEach((id, i) => ids.set(lacking[i] as string, id));
  const claimed = new Set<string>();
  const received = notifications.map((notification, index): Received => {
    const dedupKey = keys[index] as string;
    const known = state.existing.get(dedupKey);
    if (known !== undefined) return { notification, dedupKey, id: known, isNew: false };
    const id = ids.get(dedupKey) as number;
    if (claimed.has(dedupKey)) return { notification, dedupKey, id, isNew: false };
    claimed.add(dedupKey);
    return { notification, dedupKey, id, isNew: true };
  });
  const fresh = received.filter((r) => r.isNew);
  const order = state.order;
  const decision = fresh.length === 0 ? null : decideDelivery({ order: order?.state ?? NEW_ORDER, transactions: order?.transactions ?? [] }, fresh);
  const summary = summarize(identity.orderId, received, decision);
  const links = deliveryLinks(received, decision);
  if (decision === null) return { summary, links, decided: null };
  return {
    summary,
    links,
    decided: {
      identity,
      expected: order === null ? null : { id: order.id, version: order.version },
      order: decision.order,
      notifications: fresh.map((r, i) => notificationRecord(r, decision.decisions[i] as Decision)),
      transactions: lastStatePerTransaction(decision),
      events: outboxRows(identity, decision, fresh),
    },
  };
}

function notificationRecord(r: Received, decision: Decision): NotificationRecord {
  const n = r.notification;
  return {
    id: r.id,
    dedup_key: r.dedupKey,
    provider: n.provider,
    format: n.format,
    shop_id: n.shopId,
    mode: n.mode,
    order_id: n.orderId,
    transaction_id: n.transactionId,
    operation: n.operation,
    status: n.status,
    status_raw: n.statusRaw,
    amount: n.amount,
    currency: n.currency,
    sequence_number: n.sequenceNumber,
    payment_config: n.paymentConfig,
    source: n.source,
    event_time: n.eventTime,
    failure_is_final: n.failureIsFinal,
    outcome: decision.outcome,
    outcome_detail: decision.detail,
    call_number: n.callNumber ?? null,
  };
}

/** Several notifications of one delivery may move one transaction: its last state is what is stored. */
function lastStatePerTransaction(decision: DeliveryDecision): TransactionState[] {
  const last = new Map<string, TransactionState>();
  for (const d of decision.decisions) if (d.transaction !== null) last.set(d.transaction.transactionId, d.transaction);
  return [...last.values()];
}

function outboxRows(identity: OrderIdentity, decision: DeliveryDecision, fresh: readonly Received[]): OutboxRecord[] {
  const now = new Date();
  const lastNotificationId = (fresh[fresh.length - 1] as Received).id;
  return decision.events.map((event) => {
    const id = randomUUID();
    const notificationId = event.transaction?.lastNotificationId ?? lastNotificationId;
    const payload = buildEventPayload(id, event, identity, decision.previousOrder, decision.order, notificationId, now);
    return { id, aggregatetype: 'order', aggregateid: orderAggregateId(identity), type: event.type, payload, notification_id: notificationId };
  });
}

/** One link per distinct notification of the delivery, with what this delivery did to it. */
function deliveryLinks(received: readonly Received[], decision: DeliveryDecision | null): LinkRecord[] {
  const outcomes = new Map<number, string>();
  let freshIndex = 0;
  for (const r of received) {
    const outcome = r.isNew ? (decision?.decisions[freshIndex++]?.outcome ?? 'applied') : 'duplicate';
    if (!outcomes.has(r.id)) outcomes.set(r.id, outcome);
  }
  return [...outcomes].map(([notificationId, outcome]) => ({ notification_id: notificationId, outcome }));
}

function summarize(orderId: string, received: readonly Received[], decision: DeliveryDecision | null): IngestSummary {
  const notificationIds = received.map((r) => r.id);
  if (decision === null) {
    return { outcome: 'duplicate', detail: 'already received', orderId, orderStatus: null, notificationIds };
  }
  // The most telling outcome speaks for the delivery: applied, then stale, then unknown. Of
  // several applied notifications the last speaks, since it says where the order ends up.
  const lastApplied = decision.decisions.filter((d) => d.outcome === 'applied').at(-1);
  const rank: NotificationOutcome[] = ['stale', 'unknown_status', 'duplicate'];
  const chosen = lastApplied ?? rank.map((outcome) => decision.decisions.find((d) => d.outcome === outcome)).find((d) => d !== undefined);
  return {
    outcome: chosen?.outcome ?? 'duplicate',
    detail: chosen?.detail ?? 'already received',
    orderId,
    orderStatus: decision.order.status,
    notificationIds,
  };
}
