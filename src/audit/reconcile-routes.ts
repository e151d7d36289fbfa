import type { RequestHandler, Response, Router } from 'express';
import type { Kysely } from 'kysely';
import { isKnownCurrency } from '../domain/currency';
import type { OrderChecker } from '../ingest/reconcile';
import { CHECK_OUTCOMES } from '../ingest/reconciler';
import type { PayboxOperations } from '../ingest/paybox-direct';
import { findOrders } from '../store/audit';
import type { OperatorToken } from './tokens';
import type { Provider } from '../domain/notification';
import { listChecks, recordExpectedPayment, type CheckRow } from '../store/reconcile';
import type { Database, ExpectedPaymentsTable } from '../store/schema';
import type { Selectable } from 'kysely';
import { asProblem, jsonBody, requirePaybox, type Caller, type Logged } from './direct-routes';
import { encodeCursor, oneOf, onlyKnown, page, text, time } from './params';
import { invalidParameter, ProblemError } from './problem';

const OUTCOMES = CHECK_OUTCOMES;
const STATES = ['pending', 'done', 'unchecked', 'dead'] as const;
const MODES = ['TEST', 'PRODUCTION'] as const;
const EXPECTED_FIELDS = ['provider', 'shopId', 'orderId', 'mode', 'amount', 'currency', 'expiresAt'];

const presentCheck = (c: CheckRow) => ({
  id: c.id,
  createdAt: c.created_at,
  provider: c.provider,
  shopId: c.shop_id,
  mode: c.mode,
  orderId: c.order_id,
  why: c.why,
  state: c.state,
  attempts: c.attempts,
  outcome: c.outcome,
  detail: c.detail,
  changes: c.changes,
  nextAttemptAt: c.state === 'pending' ? c.next_attempt_at : null,
  finishedAt: c.finished_at,
});

const presentExpected = (e: Selectable<ExpectedPaymentsTable>) => ({
  id: e.id,
  createdAt: e.created_at,
  provider: e.provider,
  shopId: e.shop_id,
  mode: e.mode,
  orderId: e.order_id,
  amount: e.amount,
  currency: e.currency,
  expiresAt: e.expires_at,
});

function expectedPayment(body: unknown, providers: ReadonlySet<Provider>) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidParameter('body', `a JSON object is required: { ${EXPECTED_FIELDS.map((f) => `"${f}"`).join(', ')} } (Content-Type: application/json)`);
  const fields = body as Record<string, unknown>;
  onlyKnown(fields, EXPECTED_FIELDS);
  const provider = oneOf(fields, 'provider', [...providers]);
  const shopId = text(fields, 'shopId');
  const orderId = text(fields, 'orderId');
  const mode = oneOf(fields, 'mode', MODES) ?? 'PRODUCTION';
  const currency = text(fields, 'currency');
  const expiresAt = typeof fields.expiresAt === 'string' ? time(fields, 'expiresAt') : undefined;
  const { amount } = fields;
  if (provider === undefined) throw invalidParameter('provider', `required: one of ${[...providers].join(', ')}`);
  if (shopId === undefined) throw invalidParameter('shopId', 'required: the shop id of the order (Lyra shop, Paybox <site>-<rang>, Stripe endpoint, Payline merchant)');
  if (orderId === undefined) throw invalidParameter('orderId', 'required: the order id the platform will name');
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1) throw invalidParameter('amount', 'required: a whole number of minor units, 1 or more');
  if (currency === undefined || !/^[A-Z]{3}$/.test(currency) || !isKnownCurrency(currency)) throw invalidParameter('currency', 'required: an ISO 4217 code such as EUR');
  if (expiresAt === undefined) throw invalidParameter('expiresAt', 'required: when the payment page expires, ISO 8601 with its offset');
  return { provider, shopId, orderId, mode, amount, currency, expiresAt };
}

export interface ReconcileRouteDeps {
  db: Kysely<Database>;
  read: RequestHandler;
  operate: RequestHandler;
  providers: ReadonlySet<Provider>;
  payboxOperations: PayboxOperations | undefined;
  orderChecker: OrderChecker | undefined;
  logged: Logged;
  caller: Caller;
}

/** The mode to ask in: the query's, else the stored order's when there is one, else PRODUCTION. */
async function modeOf(db: Kysely<Database>, query: Record<string, unknown>, lookup: { orderId: string; shopId: string; provider: string }): Promise<string> {
  const given = oneOf(query, 'mode', MODES);
  if (given !== undefined) return given;
  const stored = await findOrders(db, lookup);
  return stored.length === 1 ? (stored[0]?.mode ?? 'PRODUCTION') : 'PRODUCTION';
}

/** The reconciliation's routes: one order asked now, what the worker checked and found, the payments to expect. */
export function reconcileRoutes(router: Router, deps: ReconcileRouteDeps): void {
  const { db, read, operate, providers } = deps;
  const operatorName = (res: Response) => (res.locals.operator as OperatorToken).name;

  router.post('/orders/:orderId/reconcile', operate, async (req, res) => {
    onlyKnown(req.query, ['provider', 'shopId', 'mode']);
    const orderId = text(req.params, 'orderId') as string;
    const provider = text(req.query, 'provider');
    const shopId = text(req.query, 'shopId');
    const result = await deps.logged(req, res, 'reconcile', `order ${orderId}`, () =>
      asProblem(async () => {
        if (provider === undefined || !providers.has(provider as Provider)) throw invalidParameter('provider', `required: one of ${[...providers].join(', ')}`);
        if (shopId === undefined) throw invalidParameter('shopId', 'required: the shop id of the order');
        // Paybox: every attempt's inquiry, in detail.
        if (provider === 'paybox') return requirePaybox(provider, deps.payboxOperations, 'inquiries').reconcile(orderId, shopId, { tokenName: operatorName(res), ...deps.caller(req) });
        const mode = await modeOf(db, req.query, { orderId, shopId, provider });
        const outcome = await (deps.orderChecker as OrderChecker)({ provider, shopId, mode, orderId }, 'request');
        const order = (await findOrders(db, { orderId, shopId, provider })).find((o) => o.mode === mode);
        return { checked: 1, changed: outcome.changes, outcome: outcome.outcome, orderStatus: order?.status ?? null, details: [outcome.detail] };
      }),
    (r) => `${r.checked} checked, ${r.changed} changed, order ${r.orderStatus ?? 'not known'}`);
    res.json(result);
  });

  router.get('/reconciliation', read, async (req, res) => {
    onlyKnown(req.query, ['provider', 'outcome', 'state', 'limit', 'cursor']);
    const filter = { provider: text(req.query, 'provider'), outcome: oneOf(req.query, 'outcome', OUTCOMES), state: oneOf(req.query, 'state', STATES) };
    const result = await listChecks(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentCheck), nextCursor: encodeCursor(result.next) });
  });

  router.post('/expected-payments', operate, jsonBody, async (req, res) => {
    onlyKnown(req.query, []);
    if (providers.size === 0) throw new ProblemError({ title: 'Conflict', status: 409, detail: 'no provider is configured' });
    const payment = expectedPayment(req.body, providers);
    res.status(201).json(presentExpected(await recordExpectedPayment(db, payment)));
  });
}
