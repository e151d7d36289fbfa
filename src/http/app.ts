import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config';
import { auditRouter } from '../audit/routes';
import type { Provider } from '../domain/notification';
import type { Database } from '../store/schema';
import type { Readiness } from '../store/readiness';
import { ipnHandler, type IpnProvider } from './ipn';
import { createProviders } from './providers';
import { RecordBudget } from './record-budget';
import type { Metrics } from '../metrics';

export interface AppDeps {
  config: Config;
  db: Kysely<Database>;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Promise<Readiness>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's `X-Request-Id` when it is a sane token, else a new one; echoed in the reply. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

/**
 * The notification routes come before pino-http: they log one richer line of their own per call,
 * and skipping its per-request logger is measurable under load (bench/ingest.ts).
 */
function mountReceiver(app: Express, deps: AppDeps, providers: Map<Provider, IpnProvider>): void {
  const { config, logger, metrics } = deps;
  const ipnDeps = { db: deps.db, logger, metrics, deadlineMs: config.ipnDeadlineMs, bodyLimitBytes: config.ipnBodyLimitBytes, recordBudget: new RecordBudget() };
  for (const provider of providers.values()) {
    const handle = ipnHandler(provider, ipnDeps);
    const allowed = provider.methods.join(', ');
    app.all(`/ipn/${provider.name}`, (req, res, next) => {
      req.id = requestId(req, res);
      if ((provider.methods as readonly string[]).includes(req.method)) return handle(req, res, next);
      res.status(405).set('Allow', allowed).type('text/plain; charset=utf-8').send(`KO-method not allowed: use ${provider.methods.join(' or ')}`);
    });
  }
}

export function createApp(deps: AppDeps): Express {
  const { config, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);

  // A relay-only process keeps health and metrics but receives nothing.
  const providers = createProviders(config);
  if (config.role !== 'relay') mountReceiver(app, deps, providers);

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

  if (config.auditApiToken !== undefined) app.use('/api/v1', auditRouter({ db: deps.db, providers, token: config.auditApiToken }));

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
