import { Router, type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { Provider } from '../domain/notification';
import type { IpnProvider } from '../http/ipn';
import { constantTimeEqual } from '../lib/constant-time';
import * as store from '../store/audit';
import type { Database } from '../store/schema';
import { encodeCursor, onlyKnown, oneOf, OUTBOX_STATES, page, positiveId, range, text, transactionStatus, uuid } from './params';
import { presentDelivery, presentEvent, presentNotification, presentPaymentMethod } from './present';
import { deliveryView, notificationView, orderViews, subscriptionViews } from './views';
import { conflict, notFound, ProblemError, sendProblem } from './problem';
import { replayCall } from './replay';

export interface AuditDeps {
  db: Kysely<Database>;
  providers: ReadonlyMap<Provider, IpnProvider>;
  token: string;
}

const PAGE = ['limit', 'cursor'];

function requireToken(token: string): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const given = /^Bearer (\S+)$/i.exec(header)?.[1] ?? '';
    if (constantTimeEqual(given, token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="ipn-receiver audit"');
    sendProblem(res, { title: 'Unauthorized', status: 401, detail: header === '' ? 'Authorization: Bearer <AUDIT_API_TOKEN> is required' : 'the bearer token is not valid' });
  };
}

const caller = (req: Request) => ({ sourceIp: req.ip ?? 'unknown', requestId: typeof req.id === 'string' ? req.id : null });

/** What support needs to answer "did we get it, what did it say, what did we do". */
export function auditRouter(deps: AuditDeps): Router {
  const { db } = deps;
  const router = Router();
  router.use(requireToken(deps.token));

  router.get('/deliveries', async (req, res) => {
    onlyKnown(req.query, ['provider', 'verdict', 'origin', 'from', 'to', ...PAGE]);
    const filter = { provider: text(req.query, 'provider'), verdict: text(req.query, 'verdict'), origin: text(req.query, 'origin'), ...range(req.query) };
    const result = await store.listDeliveries(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentDelivery), nextCursor: encodeCursor(result.next) });
  });

  router.get('/deliveries/:id', async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    const view = await deliveryView(db, id);
    if (view === undefined) throw notFound(`delivery ${id}`);
    res.json(view);
  });

  router.post('/deliveries/:id/replay', async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    const delivery = await store.getDelivery(db, id);
    if (delivery === undefined) throw notFound(`delivery ${id}`);
    res.json({ replayOf: id, ...(await replayCall(db, deps.providers, delivery, caller(req))) });
  });

  router.get('/notifications', async (req, res) => {
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

  router.get('/notifications/:id', async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    const view = await notificationView(db, id);
    if (view === undefined) throw notFound(`notification ${id}`);
    res.json(view);
  });

  router.post('/notifications/:id/replay', async (req, res) => {
    const id = positiveId(req.params.id, 'id');
    if ((await store.getNotification(db, id)) === undefined) throw notFound(`notification ${id}`);
    const deliveryId = await store.latestRawDeliveryOf(db, id);
    const delivery = deliveryId === undefined ? undefined : await store.getDelivery(db, deliveryId);
    if (delivery === undefined) throw conflict(`notification ${id} has no stored body left to replay (purged after RETENTION_DAYS)`);
    res.json({ replayOf: delivery.id, ...(await replayCall(db, deps.providers, delivery, caller(req))) });
  });

  router.get('/orders/:orderId', async (req, res) => {
    onlyKnown(req.query, ['shopId', 'provider']);
    const orderId = text(req.params, 'orderId') as string;
    const data = await orderViews(db, { orderId, shopId: text(req.query, 'shopId'), provider: text(req.query, 'provider') });
    if (data.length === 0) throw notFound(`order ${orderId}`);
    res.json({ data });
  });

  router.get('/payment-methods', async (req, res) => {
    onlyKnown(req.query, ['provider', 'shopId', 'customerId', 'token', ...PAGE]);
    const filter = { provider: text(req.query, 'provider'), shopId: text(req.query, 'shopId'), customerId: text(req.query, 'customerId'), token: text(req.query, 'token') };
    const result = await store.listPaymentMethods(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentPaymentMethod), nextCursor: encodeCursor(result.next) });
  });

  router.get('/subscriptions/:subscriptionId', async (req, res) => {
    onlyKnown(req.query, ['shopId', 'provider']);
    const subscriptionId = text(req.params, 'subscriptionId') as string;
    const data = await subscriptionViews(db, { subscriptionId, shopId: text(req.query, 'shopId'), provider: text(req.query, 'provider') });
    if (data.length === 0) throw notFound(`subscription ${subscriptionId}`);
    res.json({ data });
  });

  router.get('/outbox', async (req, res) => {
    onlyKnown(req.query, ['state', 'aggregateId', ...PAGE]);
    const filter = { state: oneOf(req.query, 'state', OUTBOX_STATES), aggregateId: text(req.query, 'aggregateId') };
    const result = await store.listOutbox(db, filter, page(req.query));
    res.json({ data: result.rows.map(presentEvent), nextCursor: encodeCursor(result.next) });
  });

  router.get('/outbox/:id', async (req, res) => {
    const id = uuid(req.params.id, 'id');
    const event = await store.getEvent(db, id);
    if (event === undefined) throw notFound(`event ${id}`);
    res.json(presentEvent(event));
  });

  router.post('/outbox/:id/retry', async (req, res) => {
    const id = uuid(req.params.id, 'id');
    const result = await store.retryDeadEvent(db, id);
    if (!result.ok) throw result.reason === 'not_found' ? notFound(`event ${id}`) : conflict(`event ${id} is not dead: only dead events can be retried`);
    res.json(presentEvent(result.event));
  });

  router.use((req, res) => sendProblem(res, { title: 'Not found', status: 404, detail: `no ${req.method} ${req.baseUrl}${req.path} in this API` }));
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    if (error instanceof ProblemError) return sendProblem(res, error.problem);
    req.log?.error({ err: error }, 'audit API error');
    sendProblem(res, { title: 'Service unavailable', status: 503, detail: 'the database did not answer; retry later' });
  };
  router.use(onError);
  return router;
}
