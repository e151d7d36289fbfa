import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import proxyaddr from 'proxy-addr';
import type { Config } from '../config';
import { auditRouter } from '../audit/routes';
import type { Provider } from '../domain/notification';
import type { Database } from '../store/schema';
import type { Readiness } from '../store/readiness';
import { ipnHandler, type IpnProvider } from './ipn';
import { createProviders } from './providers';
import { sendText } from './reply';
import { WindowBudget } from '../lib/window-budget';
import type { BackgroundWrites } from './background-writes';
import type { Metrics } from '../metrics';

export interface AppDeps {
  config: Config;
  db: Kysely<Database>;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Promise<Readiness>;
  /** Audit records still being written after their reply; shutdown waits for them. */
  background: BackgroundWrites;
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

/**
 * The notification routes, answered before Express: a call to `/ipn/<provider>` needs none of
 * its routing, request decoration or per-request logger, and skipping them is measurable under
 * load (bench/ingest.ts). They log one richer line of their own per call. The client address
 * follows the same `trust proxy` setting as Express's `req.ip`.
 */
type ReceiverRoute = (req: IncomingMessage, res: ServerResponse, query: string) => Promise<void>;

function receiverRoutes(deps: AppDeps, providers: Map<Provider, IpnProvider>, trust: TrustFunction): Map<string, ReceiverRoute> {
  const { config, logger, metrics } = deps;
  const answerLogger = logger.child({}, { redact: { paths: [] } });
  const ipnDeps = { db: deps.db, logger, answerLogger, metrics, deadlineMs: config.ipnDeadlineMs, bodyLimitBytes: config.ipnBodyLimitBytes, recordBudget: new WindowBudget(config.rejectedRecords.perSource, config.rejectedRecords.total), background: deps.background };
  const routes = new Map<string, ReceiverRoute>();
  for (const provider of providers.values()) {
    const handle = ipnHandler(provider, ipnDeps);
    const allowed = provider.methods.join(', ');
    routes.set(`/ipn/${provider.name}`, async (req, res, query) => {
      const id = requestId(req, res);
      if (!(provider.methods as readonly string[]).includes(req.method ?? '')) {
        res.setHeader('Allow', allowed);
        return sendText(res, 405, `KO-method not allowed: use ${provider.methods.join(' or ')}`);
      }
      return handle(req, res, { id, ip: proxyaddr(req, trust), query });
    });
  }
  return routes;
}

type TrustFunction = (address: string, hop: number) => boolean;

/** The receiver routes first, matched as Express would match them; anything else to Express. */
export function createApp(deps: AppDeps): AppHandler {
  const providers = createProviders(deps.config, () => deps.metrics.paylineFetchesRefused.inc());
  const app = createExpressApp(deps, providers);
  // Express compiles `trust proxy` into this function; req.ip is proxyaddr(req, it).
  const trust = app.get('trust proxy fn') as TrustFunction;
  // A relay-only process keeps health and metrics but receives nothing.
  const routes = deps.config.role === 'relay' ? new Map<string, ReceiverRoute>() : receiverRoutes(deps, providers, trust);
  return (req, res) => {
    const { path, query } = splitUrl(req.url ?? '/');
    const route = routes.get(routeKey(path));
    if (route === undefined) return void app(req, res);
    route(req, res, query).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'notification route failed');
      if (!res.headersSent) sendText(res, 503, 'KO-temporarily unavailable, retry later');
    });
  };
}

/** The path, and the query string exactly as it came on the request line, never decoded. */
function splitUrl(url: string): { path: string; query: string } {
  const at = url.indexOf('?');
  return at < 0 ? { path: url, query: '' } : { path: url.slice(0, at), query: url.slice(at + 1) };
}

/** A path as Express matches a route by default: case-insensitive, one trailing slash optional. */
function routeKey(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

function createExpressApp(deps: AppDeps, providers: Map<Provider, IpnProvider>): Express {
  const { config, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);

  app.use(
    pinoHttp({
      logger,
      genReqId: requestId,
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({ id: req.id, method: req.method, url: req.url, remoteAddress: req.remoteAddress }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  if (config.operatorTokens.length > 0) app.use('/api/v1', auditRouter({ db: deps.db, providers, tokens: config.operatorTokens }));

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
    req.log?.error({ err: error }, 'unhandled error');
    if (!res.headersSent) res.status(503).type('text/plain; charset=utf-8').send('KO-temporarily unavailable, retry later');
  };
  app.use(onError);
  return app;
}
