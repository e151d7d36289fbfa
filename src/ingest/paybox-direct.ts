import { numericFromCurrency } from '../domain/currency';
import type { OrderIdentity } from '../domain/events';
import type { NormalizedNotification } from '../domain/notification';
import { PayboxDirect, type DirectExchange } from '../outbound/paybox-direct';
import type { HttpClient } from '../outbound/http-client';
import { writeHappened, type DirectWrite } from '../providers/paybox/direct';
import { askableTransactions, operationNotification, planOperation, readInquiry, type DirectTarget } from '../providers/paybox/operations';
import type { PayboxSite } from '../providers/paybox/sites';
import type { DatabaseHandle } from '../store/database';
import type { DeliveryInput } from '../store/deliveries';
import * as store from '../store/direct-operations';
import { nextPayboxQuestion } from '../store/paybox-questions';
import { recordCall, settleCall, type SettledCall } from './settle';

/** A request refused before anything is sent to Paybox: its HTTP status and why. */
export class DirectRequestError extends Error {
  constructor(
    readonly status: 404 | 409 | 422,
    message: string,
  ) {
    super(message);
  }
}

export interface OperationRequest {
  orderId: string;
  shopId: string;
  operation: DirectWrite;
  amount?: number;
  idempotencyKey: string;
}

/** Who asked: the operator token's name, and the HTTP call it came in. */
export interface Operator {
  tokenName: string;
  sourceIp: string;
  requestId: string | null;
}

export interface OperationAnswer {
  result: 'accepted' | 'refused' | 'unknown';
  /** CODEREPONSE and COMMENTAIRE of the answer the result rests on; null without one. */
  code: string | null;
  comment: string | null;
  orderStatus: string | null;
  operationId: number;
  amount: number;
  answeredBy: string | null;
  /** Why the result is unknown, or what settled it later. */
  reason: string | null;
  deliveryId: number | null;
}

export interface ReconcileAnswer {
  checked: number;
  changed: number;
  /** Inquiries Paybox did not answer (down, or an answer not to believe). */
  unanswered: number;
  orderStatus: string;
  /** One line per transaction asked, and per operation whose outcome an inquiry settled. */
  details: string[];
}

export interface PayboxOperations {
  operate(request: OperationRequest, by: Operator): Promise<OperationAnswer>;
  reconcile(orderId: string, shopId: string, by: Operator): Promise<ReconcileAnswer>;
  close(): Promise<void>;
}

export interface PayboxOperationsOptions {
  sites: ReadonlyMap<string, PayboxSite>;
  timeoutMs: number;
  client?: HttpClient;
  /** How often a repeat of an operation still out looks whether it is answered. */
  pollMs?: number;
}

const REFERENCE = /^[\x20-\x7e]{1,250}$/;

/** Paybox Direct for the configured sites; undefined when no site has its HMAC key. */
export function payboxOperationsFor(paybox: { sites: ReadonlyMap<string, PayboxSite>; directTimeoutMs: number } | undefined, database: DatabaseHandle): PayboxOperations | undefined {
  if (paybox === undefined || ![...paybox.sites.values()].some((site) => site.direct !== null)) return undefined;
  return createPayboxOperations(database, { sites: paybox.sites, timeoutMs: paybox.directTimeoutMs });
}

/**
 * Paybox Direct operations on the service's orders: checked against the order, sent once per
 * idempotency key, and what Paybox did recorded as calls (origin `direct`, or `reconcile` for an
 * inquiry) that go through the same decisions as the IPN.
 */
export function createPayboxOperations(database: DatabaseHandle, options: PayboxOperationsOptions): PayboxOperations {
  const clients = new Map<string, PayboxDirect>();
  const clientOf = (site: PayboxSite): PayboxDirect => {
    let client = clients.get(site.id);
    if (client === undefined) {
      if (site.direct === null) throw new Error(`site ${site.id} has no Paybox Direct access`);
      client = new PayboxDirect(site.direct, { timeoutMs: options.timeoutMs, nextQuestion: () => nextPayboxQuestion(database.db), ...(options.client === undefined ? {} : { client: options.client }) });
      clients.set(site.id, client);
    }
    return client;
  };
  // Past this, an operation still out belonged to an instance that stopped: every host, an inquiry on each, and a margin.
  const abandonAfterMs = options.timeoutMs * 4 * 2 + 30_000;
  const context = { database, options, clientOf, abandonAfterMs };
  return {
    operate: (request, by) => operate(context, request, by),
    reconcile: (orderId, shopId, by) => reconcile(context, orderId, shopId, by),
    close: async () => {
      // The shared client is the caller's; each site's own is closed here.
      if (options.client === undefined) await Promise.all([...clients.values()].map((c) => c.close()));
    },
  };
}

interface Context {
  database: DatabaseHandle;
  options: PayboxOperationsOptions;
  clientOf: (site: PayboxSite) => PayboxDirect;
  abandonAfterMs: number;
}

function directSite(options: PayboxOperationsOptions, shopId: string): PayboxSite {
  const site = options.sites.get(shopId);
  if (site === undefined) throw new DirectRequestError(404, `Paybox site ${shopId} is not configured (PAYBOX_SITES, as <site>-<rang>)`);
  if (site.direct === null) throw new DirectRequestError(409, `Paybox site ${shopId} has no directHmacKey: set it in PAYBOX_SITES (the HMAC key of the Paybox back office) to use Paybox Direct`);
  return site;
}

const identityOf = (site: PayboxSite, orderId: string): OrderIdentity => ({ provider: 'paybox', shopId: site.id, mode: site.mode, orderId });

async function orderOf(context: Context, identity: OrderIdentity) {
  const order = await store.readPayboxOrder(context.database.db, identity);
  if (order === null) throw new DirectRequestError(404, `order ${identity.orderId} of Paybox site ${identity.shopId} not found`);
  return order;
}

function answerOf(row: store.DirectOperationRow): OperationAnswer {
  return {
    result: row.result as OperationAnswer['result'],
    code: row.code,
    comment: row.comment,
    orderStatus: row.order_status,
    operationId: row.id,
    amount: row.amount,
    answeredBy: row.answered_by,
    reason: row.reason,
    deliveryId: row.delivery_id,
  };
}

/** A repeat of a key: the same request gets the first one's result, waiting for it while it is out. */
async function repeatOf(context: Context, row: store.DirectOperationRow, request: OperationRequest): Promise<OperationAnswer> {
  const same = row.operation === request.operation && row.order_id === request.orderId && (request.amount === undefined || request.amount === row.amount);
  if (!same) throw new DirectRequestError(422, `idempotency key ${request.idempotencyKey} was used for a ${row.operation} of ${row.amount} on order ${row.order_id}: use a new key for another request`);
  let current: store.DirectOperationRow | undefined = row;
  const waitUntil = Date.now() + context.abandonAfterMs;
  while (current !== undefined && current.result === null && Date.now() < waitUntil) {
    await new Promise((resolve) => setTimeout(resolve, context.options.pollMs ?? 100));
    current = await store.getOperation(context.database.db, row.id);
  }
  if (current === undefined || current.result === null) {
    return { ...answerOf(row), result: 'unknown', reason: 'the first request with this key is still waiting for Paybox' };
  }
  return answerOf(current);
}

/** The order, and what the operation would be on it now; a DirectRequestError when it may not be sent. */
async function checkOperation(context: Context, site: PayboxSite, identity: OrderIdentity, request: OperationRequest) {
  const order = await orderOf(context, identity);
  const unknown = await store.unknownOperations(context.database.db, identity);
  const unknownOther = unknown.find((op) => op.operation !== 'refund');
  if (unknownOther !== undefined) throw new DirectRequestError(409, `the ${unknownOther.operation} of operation ${unknownOther.id} has no known outcome: reconcile the order first`);
  const unsettledRefunds = unknown.reduce((sum, op) => sum + op.amount, 0);
  const plan = planOperation(site, order.state, order.transactions, { operation: request.operation, ...(request.amount === undefined ? {} : { amount: request.amount }) }, unsettledRefunds);
  if (!plan.ok) throw new DirectRequestError(422, plan.detail);
  const currency = order.state.currency ?? site.currency;
  const currencyNumeric = numericFromCurrency(currency);
  if (currencyNumeric === null) throw new DirectRequestError(422, `currency ${currency} has no ISO 4217 numeric code`);
  return { order, target: plan.target, amount: plan.amount, currency, currencyNumeric };
}

async function operate(context: Context, request: OperationRequest, by: Operator): Promise<OperationAnswer> {
  const site = directSite(context.options, request.shopId);
  if (!REFERENCE.test(request.orderId)) throw new DirectRequestError(422, 'Paybox Direct is asked with the order reference: it must be 1 to 250 printable ASCII characters');
  const identity = identityOf(site, request.orderId);
  const db = context.database.db;
  // A repeat gets the first result even once the order no longer allows the operation (it was done).
  const earlier = await store.operationByKey(db, identity, request.idempotencyKey);
  if (earlier !== undefined) return repeatOf(context, earlier, request);
  let checked;
  try {
    checked = await checkOperation(context, site, identity, request);
  } catch (error) {
    // A concurrent first request with this key may have been sent and done in between.
    const first = error instanceof DirectRequestError ? await store.operationByKey(db, identity, request.idempotencyKey) : undefined;
    if (first !== undefined) return repeatOf(context, first, request);
    throw error;
  }

  const claim = await store.claimOperation(db, { identity, idempotencyKey: request.idempotencyKey, operation: request.operation, transactionId: checked.target.transactionId, amount: checked.amount, tokenName: by.tokenName }, context.abandonAfterMs);
  if (claim.kind === 'existing') return repeatOf(context, claim.row, request);
  if (claim.kind === 'busy') throw new DirectRequestError(409, `another operation on order ${request.orderId} is waiting for Paybox${claim.row === undefined ? '' : ` (operation ${claim.row.id}, a ${claim.row.operation})`}: try again once it is answered`);
  const id = claim.row.id;
  // Checked again now that it is the order's only operation out: one finished in between counts.
  const now = await checkOperation(context, site, identity, request).catch(async (error: unknown) => {
    await store.releaseOperation(db, id);
    throw error;
  });
  if (now.target.transactionId !== checked.target.transactionId || now.amount !== checked.amount) {
    await store.releaseOperation(db, id);
    throw new DirectRequestError(409, `order ${request.orderId} changed while the ${request.operation} was checked: send it again`);
  }

  let exchange: DirectExchange;
  try {
    exchange = await context.clientOf(site).ask({ operation: request.operation, transactionNumber: now.target.transactionId, callNumber: now.target.callNumber, amount: now.amount, currencyNumeric: now.currencyNumeric, reference: request.orderId, refundedBefore: now.order.state.refundedAmount > 0 });
  } catch (error) {
    // Whether it was sent cannot be told: unknown, for an inquiry to settle.
    await store.finishOperation(db, id, { result: 'unknown', code: null, comment: null, answeredBy: null, reason: `failed before an answer was read: ${(error as Error).message}`, deliveryId: null, orderStatus: now.order.state.status }).catch(() => undefined);
    throw error;
  }
  const delivery = deliveryOf('direct', exchange, by);
  const settled = await recordExchange(context.database, delivery, exchange, () => operationNotification(site, request.orderId, now.currency, request.operation, now.target, now.amount, id), request.operation);
  const finished = await store.finishOperation(db, id, {
    result: exchange.result,
    code: exchange.answer?.code ?? null,
    comment: exchange.answer?.comment ?? null,
    answeredBy: exchange.answeredBy,
    reason: exchange.reason,
    deliveryId: settled.deliveryId,
    orderStatus: settled.orderStatus ?? now.order.state.status,
  });
  return answerOf(finished);
}

/** The exchange as a call: its attempts (questions and answers, none secret) are its body. */
function deliveryOf(origin: 'direct' | 'reconcile', exchange: DirectExchange, by: Operator): DeliveryInput {
  const attempts = exchange.attempts.map((a) => ({ url: a.url, operation: a.operation, outcome: a.outcome, question: Object.fromEntries(a.fields), answer: a.answer?.fields ?? null }));
  return {
    provider: 'paybox',
    origin,
    request_id: by.requestId,
    source_ip: by.sourceIp,
    content_type: 'application/json',
    raw_body: Buffer.from(JSON.stringify({ operator: by.tokenName, attempts })),
    raw_query: null,
    signature_header: null,
    fetched_from: exchange.answeredBy,
  };
}

/** The host whose answer is applied, kept with the call as Payline's failover is. */
const answered = (exchange: DirectExchange) => (exchange.answeredBy === null ? {} : { fetchedFrom: exchange.answeredBy });

/** An accepted write applied as a notification; a refusal or no answer recorded, nothing applied. */
function recordExchange(database: DatabaseHandle, delivery: DeliveryInput, exchange: DirectExchange, notification: () => NormalizedNotification, what: string): Promise<SettledCall> {
  if (exchange.result === 'accepted') return settleCall(database, delivery, { ok: true, notifications: [notification()], ...answered(exchange) });
  if (exchange.result === 'refused') {
    const answer = exchange.answer;
    return recordCall(database, delivery, 'unknown_status', `Paybox refused the ${what}: ${answer?.code ?? ''} ${answer?.comment ?? ''}`.trim(), 'unrecognized');
  }
  return recordCall(database, delivery, 'unavailable', `the ${what} has no known outcome: ${exchange.reason ?? 'no answer'}`);
}

/**
 * Asks Paybox (TYPE 00017) about each of the order's attempts, settles the operations whose
 * outcome was unknown, then applies what Paybox says of each attempt, as calls of origin
 * `reconcile`.
 */
async function reconcile(context: Context, orderId: string, shopId: string, by: Operator): Promise<ReconcileAnswer> {
  const site = directSite(context.options, shopId);
  const identity = identityOf(site, orderId);
  let order = await orderOf(context, identity);
  const targets = askableTransactions(order.transactions);
  if (targets.length === 0) throw new DirectRequestError(422, `order ${orderId} has no attempt Paybox Direct can be asked about: its notifications carried no transaction (S) and call (T) numbers (PBX_RETOUR Trans:S;Appel:T)`);
  const details: string[] = [];
  let changed = 0;
  let unanswered = 0;
  for (const target of targets) {
    const exchange = await context.clientOf(site).ask({ operation: 'inquiry', transactionNumber: target.transactionId, callNumber: target.callNumber });
    const delivery = deliveryOf('reconcile', exchange, by);
    if (exchange.result !== 'accepted' || exchange.answer === null) {
      if (exchange.result === 'unknown') unanswered++;
      const settled = await recordCall(context.database, delivery, exchange.result === 'refused' ? 'unknown_status' : 'unavailable', `inquiry of transaction ${target.transactionId}: ${exchange.answer === null ? (exchange.reason ?? 'no answer') : `${exchange.answer.code} ${exchange.answer.comment}`}`);
      details.push(settled.reply);
      continue;
    }
    const status = exchange.answer.status;
    changed += await settleUnknown(context, site, identity, target, status, delivery, details);
    order = await orderOf(context, identity);
    const tx = order.transactions.find((t) => t.transactionId === target.transactionId);
    if (tx === undefined) continue;
    const reading = readInquiry(site, orderId, order.state, tx, status);
    const settled = reading.kind === 'unchanged'
      ? await recordCall(context.database, delivery, 'duplicate', reading.detail)
      : await settleCall(context.database, delivery, { ok: true, notifications: [reading.notification], ...answered(exchange) });
    if (settled.verdict === 'applied') changed++;
    details.push(reading.kind === 'apply' && reading.note !== null ? `${settled.reply} (${reading.note})` : settled.reply);
  }
  order = await orderOf(context, identity);
  return { checked: targets.length, changed, unanswered, orderStatus: order.state.status, details };
}

/** Operations on this attempt whose outcome was unknown, settled by what the inquiry says: applied when done. */
async function settleUnknown(context: Context, site: PayboxSite, identity: OrderIdentity, target: DirectTarget, status: string | null, delivery: DeliveryInput, details: string[]): Promise<number> {
  let applied = 0;
  for (const op of await store.unknownOperations(context.database.db, identity)) {
    if (op.transaction_id !== target.transactionId) continue;
    const order = await orderOf(context, identity);
    const happened = writeHappened(op.operation as DirectWrite, status, order.state.refundedAmount > 0);
    if (happened === null) {
      details.push(`operation ${op.id} (${op.operation}): Paybox says ${status ?? 'nothing'}, which does not tell whether it happened`);
      continue;
    }
    if (!happened) {
      await store.settleUnknownOperation(context.database.db, op.id, { result: 'refused', reason: `not done: an inquiry found the transaction ${status ?? ''}`, deliveryId: null, orderStatus: order.state.status });
      details.push(`operation ${op.id} (${op.operation}): not done`);
      continue;
    }
    const notification = operationNotification(site, identity.orderId, order.state.currency, op.operation as DirectWrite, target, op.amount, op.id);
    const settled = await settleCall(context.database, delivery, { ok: true, notifications: [notification], ...(delivery.fetched_from === null || delivery.fetched_from === undefined ? {} : { fetchedFrom: delivery.fetched_from }) });
    await store.settleUnknownOperation(context.database.db, op.id, { result: 'accepted', reason: `done: an inquiry found the transaction ${status ?? ''}`, deliveryId: settled.deliveryId, orderStatus: settled.orderStatus });
    if (settled.verdict === 'applied') applied++;
    details.push(`operation ${op.id} (${op.operation}): done, ${settled.reply}`);
  }
  return applied;
}
