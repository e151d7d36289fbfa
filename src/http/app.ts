import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config';
import { auditRouter } from '../audit/routes';
import type { PayboxOperations } from '../ingest/paybox-direct';
import type { OrderChecker } from '../ingest/reconcile';
import type { Provider } from '../domain/notification';
import type { DatabaseHandle } from '../store/database';
import type { Readiness } from '../store/readiness';
import { ipnHandler } from './ipn';
import type { Providers } from '../ingest/providers';
import type { IpnProvider } from '../providers/types';
import { sendText } from './reply';
import { WindowBudget } from '../lib/window-budget';
import type { BackgroundWrites } from './background-writes';
import type { Metrics } from '../metrics';

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  /** Built once per process: the Payline fetcher shares its receiver. */
  providers: Providers;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Promise<Readiness>;
  /** Audit records still being written after their reply; shutdown waits for them. */
  background: BackgroundWrites;
  /** Paybox Direct, for the sites whose HMAC key is configured. */
  payboxOperations?: PayboxOperations;
  /** Asks a platform about one order: the reconciliation's checks. */
  orderChecker?: OrderChecker;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's `X-Request-Id` when it is a sane token, else a new one; echoed in the reply. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/** The service's request listener, for `http.createServer` and for supertest. */
export type AppHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Every request gets its id first, whatever route answers it; pino-http and the notification routes read `req.id`. */
const assignRequestId: RequestHandler = (req, res, next) => {
  req.id = requestId(req, res);
  next();
};

/**
 * `/ipn/<provider>`, one route per provider received. The route's middleware refuses another
 * method; the handler reads the raw body and query itself (the notification is verified on its
 * exact bytes) and logs one line per call, so these routes come before pino-http's request log.
 */
function notificationRouter(deps: AppDeps, providers: ReadonlyMap<Provider, IpnProvider>): Router {
  const { config, logger, metrics } = deps;
  const answerLogger = logger.child({}, { redact: { paths: [] } });
  const ipnDeps = { database: deps.database, logger, answerLogger, metrics, deadlineMs: config.ipnDeadlineMs, bodyLimitBytes: config.ipnBodyLimitBytes, recordBudget: new WindowBudget(config.rejectedRecords.perSource, config.rejectedRecords.total), background: deps.background };
  const router = express.Router();
  for (const provider of providers.values()) {
    const handle = ipnHandler(provider, ipnDeps);
    router.all(`/ipn/${provider.name}`, allowMethods(provider.methods), (req, res, next) => {
      // assignRequestId made it a string (pino-http types it wider).
      handle(req, res, { id: req.id as string, ip: req.ip, query: rawQuery(req.originalUrl) }).catch(next);
    });
  }
  return router;
}

/** 405 with `Allow` for any other method than the provider's. */
function allowMethods(methods: readonly string[]): RequestHandler {
  const allowed = methods.join(', ');
  return (req, res, next) => {
    if (methods.includes(req.method)) return next();
    res.setHeader('Allow', allowed);
    sendText(res, 405, `KO-method not allowed: use ${methods.join(' or ')}`);
  };
}

/** The query string exactly as it came on the request line, never decoded: Paybox signs it so. */
function rawQuery(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
}

/** The one Express app: notification routes, the audit API, health and metrics. */
export function createApp(deps: AppDeps): Express {
  const { config, logger, metrics } = deps;
  const providers = deps.providers.byName;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);

  app.use(assignRequestId);
  // A relay-only process keeps health and metrics but receives nothing.
  if (config.role !== 'relay') app.use(notificationRouter(deps, providers));
  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => req.id,
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  if (config.operatorTokens.length > 0) app.use('/api/v1', auditRouter({ database: deps.database, providers, tokens: config.operatorTokens, payboxOperations: deps.payboxOperations, orderChecker: deps.orderChecker }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const readiness = await deps.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness.ready ? { status: 'ready' } : { status: 'not ready', reason: readiness.reason });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use((_req, res) => {
    res.status(404).type('text/plain; charset=utf-8').send('KO-not found');
  });
  const onError: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    (req.log ?? deps.logger).error({ err: error, reqId: req.id }, 'unhandled error');
    if (!res.headersSent) res.status(503).type('text/plain; charset=utf-8').send('KO-temporarily unavailable, retry later');
  };
  app.use(onError);
  return app;
}
