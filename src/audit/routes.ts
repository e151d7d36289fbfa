import { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Provider } from '../domain/notification';
import type { IpnProvider } from '../providers/types';
import * as store from '../store/audit';
import { eraseCallsOfOrders, listOperatorActions, recordOperatorAction } from '../store/operators';
import { authenticate, type OperatorToken, type Scope } from './tokens';
import type { Database } from '../store/schema';
import type { DatabaseHandle } from '../store/database';
import { encodeCursor, onlyKnown, oneOf, OUTBOX_STATES, page, positiveId, range, text, transactionStatus, uuid } from './params';
import { presentDelivery, presentEvent, presentNotification, presentOperatorAction, presentPaymentMethod } from './present';
import { deliveryView, notificationView, orderViews, subscriptionViews } from './views';
import { conflict, invalidParameter, notFound, ProblemError, sendProblem } from './problem';
import { replayCall } from './replay';
import { directRoutes } from './direct-routes';
import { reconcileRoutes } from './reconcile-routes';
import type { PayboxOperations } from '../ingest/paybox-direct';
import type { OrderChecker } from '../ingest/reconcile';

export interface AuditDeps {
  database: DatabaseHandle;
  providers: ReadonlyMap<Provider, IpnProvider>;
  tokens: readonly OperatorToken[];
  /** Paybox Direct, when a site has its HMAC key: captures, refunds, cancels and inquiries. */
  payboxOperations?: PayboxOperations | undefined;
  /** What asks a platform about one order (the reconciliation's). */
  orderChecker?: OrderChecker | undefined;
}

const PAGE = ['limit', 'cursor'];
/** Query parameters that would carry a credential: a token belongs in the Authorization header only. */
const CREDENTIAL_PARAMETERS = ['token', 'access_token', 'api_key', 'apikey', 'key'];

/** Answers of this API hold payment records: never cached, never sniffed as another type. */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};

function requireToken(tokens: readonly OperatorToken[]): RequestHandler {
  return (req, res, next) => {
    const inQuery = CREDENTIAL_PARAMETERS.find((name) => name in req.query);
    if (inQuery !== undefined) throw invalidParameter(inQuery, 'a token is never accepted in the URL (it would be logged and cached): send Authorization: Bearer <token>');
    const header = req.headers.authorization ?? '';
    const token = authenticate(tokens, /^Bearer (\S+)$/i.exec(header)?.[1] ?? '');
    if (token?.loopbackOnly === true && !(isLoopback(req.socket.remoteAddress) && isLoopback(req.ip))) {
      return sendProblem(res, { title: 'Unauthorized', status: 401, detail: `token ${token.name} is accepted from this machine only` });
    }
    if (token !== null) {
      res.locals.operator = token;
      return next();
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="ipn-receiver audit"');
    sendProblem(res, { title: 'Unauthorized', status: 401, detail: header === '' ? 'Authorization: Bearer <token> is required (API_TOKENS or AUDIT_API_TOKEN)' : 'the bearer token is not valid' });
  };
}

const isLoopback = (address: string | undefined): boolean => address !== undefined && /^(127\.|::1$|::ffff:127\.)/.test(address);

const operatorOf = (res: Response): OperatorToken => res.locals.operator as OperatorToken;

/** Reading needs `read`; everything else names the scope it needs. */
function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    const operator = operatorOf(res);
    if (operator.scopes.has(scope)) return next();
    sendProblem(res, { title: 'Forbidden', status: 403, detail: `token ${operator.name} lacks the ${scope} scope`, missingScope: scope });
  };
}

const caller = (req: Request) => ({ sourceIp: req.ip ?? 'unknown', requestId: typeof req.id === 'string' ? req.id : null });

/**
 * Runs an operator action and writes it to the operator log, whatever its outcome: done, refused
 * (a problem answered to the operator, such as 409) or failed.
 */
async function logged<T>(db: Kysely<Database>, req: Request, res: Response, action: string, target: string, run: () => Promise<T>, detailOf: (result: T) => string): Promise<T> {
  const entry = { tokenName: operatorOf(res).name, action, target, ...caller(req) };
  try {
    const result = await run();
    await recordOperatorAction(db, { ...entry, outcome: 'done', detail: detailOf(result) });
    return result;
  } catch (error) {
    const refused = error instanceof ProblemError;
    // A failure other than a refusal is in the service's log; the database may be what failed.
    await recordOperatorAction(db, { ...entry, outcome: refused ? 'refused' : 'failed', detail: refused ? error.problem.detail : 'failed: see the service log' }).catch(() => undefined);
    throw error;
  }
}

/** A JSON body that could not be read (express.json's errors carry a `type`): the caller's mistake, not the database's. */
function bodyParserProblem(error: unknown): { title: string; status: number; detail: string } | null {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return { title: 'Invalid request', status: 400, detail: 'the body is not valid JSON' };
  if (type === 'entity.too.large') return { title: 'Payload too large', status: 413, detail: 'the body is larger than 4 kB' };
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') return { title: 'Unsupported media type', status: 415, detail: 'the body must be UTF-8 JSON' };
  return null;
}

/** What support needs to answer "did we get it, what did it say, what did we do". */
export function auditRouter(deps: AuditDeps): Router {
  const { db } = deps.database;
  const router = Router();
  router.use(noStore, requireToken(deps.tokens));
  const read = requireScope('read');
  const replay = requireScope('replay');
  const operate = requireScope('operate');

  router.get('/deliveries', read, async (req, res) => {
    onlyKnown(req.query, ['provider', 'verdict', 'origin', 'from', 'to', ...PAGE]);
    const filter = { provider: text(req.query, 'provider'), verdict: text(req.query, 'verdict'), origin: text(req.query, 'origin'), ...range(req.query) };
    const result = await store.listDeliveries(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentDelivery), nextCursor: encodeCursor(result.next) });
  });

  router.get('/deliveries/:id', read, async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    const view = await deliveryView(db, id);
    if (view === undefined) throw notFound(`delivery ${id}`);
    res.json(view);
  });

  router.post('/deliveries/:id/replay', replay, async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    const result = await logged(db, req, res, 'replay', `delivery ${id}`, async () => {
      const delivery = await store.getDelivery(db, id);
      if (delivery === undefined) throw notFound(`delivery ${id}`);
      return replayCall(deps.database, deps.providers, delivery, caller(req));
    }, (r) => r.reply);
    res.json({ replayOf: id, ...result });
  });

  router.get('/notifications', read, async (req, res) => {
    onlyKnown(req.query, ['orderId', 'transactionId', 'shopId', 'provider', 'status', 'from', 'to', ...PAGE]);
    const filter = {
      orderId: text(req.query, 'orderId'),
      transactionId: text(req.query, 'transactionId'),
      shopId: text(req.query, 'shopId'),
      provider: text(req.query, 'provider'),
      status: transactionStatus(req.query),
      ...range(req.query),
    };
    const result = await store.listNotifications(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentNotification), nextCursor: encodeCursor(result.next) });
  });

  router.get('/notifications/:id', read, async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    const view = await notificationView(db, id);
    if (view === undefined) throw notFound(`notification ${id}`);
    res.json(view);
  });

  router.post('/notifications/:id/replay', replay, async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    const result = await logged(db, req, res, 'replay', `notification ${id}`, async () => {
      if ((await store.getNotification(db, id)) === undefined) throw notFound(`notification ${id}`);
      const deliveryId = await store.latestRawDeliveryOf(db, id);
      const delivery = deliveryId === undefined ? undefined : await store.getDelivery(db, deliveryId);
      if (delivery === undefined) throw conflict(`notification ${id} has no stored body left to replay (purged after RETENTION_DAYS, or erased)`);
      return { replayOf: delivery.id, ...(await replayCall(deps.database, deps.providers, delivery, caller(req))) };
    }, (r) => r.reply);
    res.json(result);
  });

  router.get('/orders/:orderId', read, async (req, res) => {
    onlyKnown(req.query, ['shopId', 'provider']);
    const orderId = text(req.params, 'orderId') as string;
    const data = await orderViews(db, { orderId, shopId: text(req.query, 'shopId'), provider: text(req.query, 'provider') });
    if (data.length === 0) throw notFound(`order ${orderId}`);
    res.json({ data });
  });

  router.get('/payment-methods', read, async (req, res) => {
    onlyKnown(req.query, ['provider', 'shopId', 'customerId', 'token', ...PAGE]);
    const filter = { provider: text(req.query, 'provider'), shopId: text(req.query, 'shopId'), customerId: text(req.query, 'customerId'), token: text(req.query, 'token') };
    const result = await store.listPaymentMethods(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentPaymentMethod), nextCursor: encodeCursor(result.next) });
  });

  router.get('/subscriptions/:subscriptionId', read, async (req, res) => {
    onlyKnown(req.query, ['shopId', 'provider']);
    const subscriptionId = text(req.params, 'subscriptionId') as string;
    const data = await subscriptionViews(db, { subscriptionId, shopId: text(req.query, 'shopId'), provider: text(req.query, 'provider') });
    if (data.length === 0) throw notFound(`subscription ${subscriptionId}`);
    res.json({ data });
  });

  router.get('/outbox', read, async (req, res) => {
    onlyKnown(req.query, ['state', 'aggregateId', ...PAGE]);
    const filter = { state: oneOf(req.query, 'state', OUTBOX_STATES), aggregateId: text(req.query, 'aggregateId') };
    const result = await store.listOutbox(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentEvent), nextCursor: encodeCursor(result.next) });
  });

  router.get('/outbox/:id', read, async (req, res) => {
    const id = uuid(req.params.id, 'id');
    const event = await store.getEvent(db, id);
    if (event === undefined) throw notFound(`event ${id}`);
    res.json(presentEvent(event));
  });

  router.post('/outbox/:id/retry', replay, async (req, res) => {
    const id = uuid(req.params.id, 'id');
    const event = await logged(db, req, res, 'retry', `event ${id}`, async () => {
      const result = await store.retryDeadEvent(db, id);
      if (!result.ok) throw result.reason === 'not_found' ? notFound(`event ${id}`) : conflict(`event ${id} is not dead: only dead events can be retried`);
      return result.event;
    }, () => 'back to pending');
    res.json(presentEvent(event));
  });

  router.post('/orders/:orderId/erase-personal-data', operate, async (req, res) => {
    onlyKnown(req.query, ['shopId', 'provider']);
    const orderId = text(req.params, 'orderId') as string;
    const lookup = { orderId, shopId: text(req.query, 'shopId'), provider: text(req.query, 'provider') };
    const result = await logged(db, req, res, 'erase', `order ${orderId}`, async () => {
      const orders = await store.findOrders(db, lookup);
      if (orders.length === 0) throw notFound(`order ${orderId}`);
      return { orders: orders.length, erasedCalls: await eraseCallsOfOrders(db, orders.map((o) => o.id)) };
    }, (r) => `${r.erasedCalls} call(s) of ${r.orders} order(s) erased`);
    res.json(result);
  });

  directRoutes(router, operate, deps.payboxOperations, (req, res, action, target, run, detailOf) => logged(db, req, res, action, target, run, detailOf), caller);

  reconcileRoutes(router, { db, read, operate, providers: new Set(deps.providers.keys()), payboxOperations: deps.payboxOperations, orderChecker: deps.orderChecker, logged: (req, res, action, target, run, detailOf) => logged(db, req, res, action, target, run, detailOf), caller });

  router.get('/operator-actions', read, async (req, res) => {
    onlyKnown(req.query, ['tokenName', 'action', ...PAGE]);
    const result = await listOperatorActions(db, { tokenName: text(req.query, 'tokenName'), action: text(req.query, 'action') }, page(req.query));
    res.json({ data: result.rows.map(presentOperatorAction), nextCursor: encodeCursor(result.next) });
  });

  router.use((req, res) => sendProblem(res, { title: 'Not found', status: 404, detail: `no ${req.method} ${req.baseUrl}${req.path} in this API` }));
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    if (error instanceof ProblemError) return sendProblem(res, error.problem);
    const bodyError = bodyParserProblem(error);
    if (bodyError !== null) return sendProblem(res, bodyError);
    req.log?.error({ err: error }, 'audit API error');
    sendProblem(res, { title: 'Service unavailable', status: 503, detail: 'the database did not answer; retry later' });
  };
  router.use(onError);
  return router;
}
