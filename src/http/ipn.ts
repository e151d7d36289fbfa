import contentType from 'content-type';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import getRawBody from 'raw-body';
import { within } from '../lib/within';
import type { DeferredFetch, IpnProvider } from '../providers/types';
import { DeadlineExceededError } from '../ingest/errors';
import type { DeliveryInput } from '../store/deliveries';
import type { DatabaseHandle } from '../store/database';
import type { Metrics } from '../metrics';
import type { WindowBudget } from '../lib/window-budget';
import type { BackgroundWrites } from './background-writes';
import { replyLine, statusOf, type Verdict } from '../ingest/verdicts';
import { sendText } from './reply';
import { recordDeferredCall, recordRejectedCall, settleCall } from '../ingest/settle';

export interface IpnDeps {
  database: DatabaseHandle;
  logger: Logger;
  /**
   * The logger of the one line per call. That line is built here from ids, verdicts and the
   * reply, never from an object that could carry a secret, so it skips the redaction by path,
   * which costs ten times the line itself. A test checks its fields.
   */
  answerLogger: Logger;
  metrics: Metrics;
  deadlineMs: number;
  bodyLimitBytes: number;
  /** Caps the audit records of rejected calls, per source and in all. */
  recordBudget: WindowBudget;
  background: BackgroundWrites;
}

/** The call as the route resolved it: request id, client address (`TRUST_PROXY`), raw query string. */
export interface Caller {
  id: string;
  ip: string | undefined;
  query: string;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  caller: Caller;
  provider: IpnProvider;
  deps: IpnDeps;
  /** Whether the caller's address is in the provider's allowlist. */
  allowed: boolean;
  /** Aborted at the deadline. */
  signal: AbortSignal;
  /** The latest time the write may end and still be answered before the deadline. */
  commitBy: Date;
  /** The request's logger, made on first use: a flood's calls past their budget never need one. */
  log(): Logger;
  delivery: DeliveryInput;
  receivedAt: Date;
  /** Answers and counts the call; `logged: false` for a rejection past its record budget. */
  finish(verdict: Verdict, detail?: string, reply?: string, context?: object, logged?: boolean): void;
}

/**
 * `POST` (or `GET`) `/ipn/<provider>`: source check, content type, raw body and query, verify, normalize, record and
 * decide in one statement, reply. A timer answers 503 at the deadline whatever the database
 * is doing, and the statement then rolls back instead of committing late.
 */
export function ipnHandler(provider: IpnProvider, deps: IpnDeps): (req: IncomingMessage, res: ServerResponse, caller: Caller) => Promise<void> {
  return async (req, res, caller) => {
    const stopTimer = deps.metrics.ipnReplySeconds.startTimer({ provider: provider.name });
    const source = caller.ip ?? req.socket.remoteAddress ?? 'unknown';
    const allowed = provider.allowlist.allows(caller.ip);
    if (!allowed && !deps.recordBudget.take(source)) {
      refuseUnrecorded(res, caller, provider, deps);
      stopTimer();
      return;
    }
    const deadline = new AbortController();
    // The receiver routes run before pino-http (one line per call is enough): the request id is
    // bound here instead, for the rare lines other than the answer.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= deps.logger.child({ reqId: caller.id }));
    const finish = (verdict: Verdict, detail?: string, reply = replyLine(verdict, detail), context: object = {}, logged = true): void => {
      if (res.headersSent) return;
      const status = answer(res, provider, deps, verdict, reply);
      stopTimer();
      if (logged) deps.answerLogger.info({ reqId: caller.id, ...context, provider: provider.name, verdict, status, reply }, 'notification answered');
    };
    const timer = setTimeout(() => {
      deadline.abort();
      finish('unavailable', 'deadline reached');
    }, deps.deadlineMs);
    const receivedAt = new Date();
    const commitBy = new Date(receivedAt.getTime() + deps.deadlineMs - COMMIT_MARGIN_MS);
    const delivery: DeliveryInput = {
      provider: provider.name,
      origin: 'http',
      request_id: caller.id,
      source_ip: source,
      content_type: req.headers['content-type']?.slice(0, 255) ?? null,
      raw_body: null,
      raw_query: null,
      signature_header: null,
    };
    try {
      await handleExchange({ req, res, caller, provider, deps, allowed, signal: deadline.signal, commitBy, log, delivery, receivedAt, finish });
    } catch (error) {
      // Never a 500 and never a crash: the platform retries a 503, and the retry is deduplicated.
      if (!(error instanceof DeadlineExceededError)) log().error({ err: error }, 'notification processing failed');
      finish('unavailable');
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * A disallowed caller past its record budget (a flood) is answered and counted, and nothing
 * else: no record, no log line, no deadline timer. Under a flood, this is all a call costs.
 */
function refuseUnrecorded(res: ServerResponse, caller: Caller, provider: IpnProvider, deps: IpnDeps): void {
  answer(res, provider, deps, 'forbidden_source', replyLine('forbidden_source', forbiddenReason(caller)));
  deps.metrics.ipnUnrecorded.inc({ provider: provider.name, verdict: 'forbidden_source' });
}

/** Writes the reply line (or the provider's page for it) and counts the call; returns the status. */
function answer(res: ServerResponse, provider: IpnProvider, deps: IpnDeps, verdict: Verdict, reply: string): number {
  const status = statusOf(verdict);
  sendText(res, status, provider.replyBody?.(status, reply) ?? reply);
  deps.metrics.ipnCalls.inc({ provider: provider.name, verdict, status });
  return status;
}

const forbiddenReason = (caller: Caller): string => `${caller.ip ?? 'unknown address'} is not allowed`;

async function handleExchange(x: Exchange): Promise<void> {
  if (!x.allowed) {
    // The body of a disallowed caller is never read nor stored; the record budget was taken.
    return reject(x, 'forbidden_source', forbiddenReason(x.caller));
  }
  const query = x.caller.query;
  x.delivery.raw_query = query === '' ? null : query;
  let body: Buffer = EMPTY;
  if (x.req.method === 'POST') {
    const mediaProblem = checkContentType(x.req.headers['content-type'], x.provider);
    if (mediaProblem !== null) return reject(x, 'unsupported_media_type', mediaProblem);
    const read = await readBody(x);
    if (read === null) return;
    body = read;
  }
  x.delivery.raw_body = body;
  const signature = x.provider.signatureHeader === undefined ? null : headerText(x.req.headers[x.provider.signatureHeader]);
  x.delivery.signature_header = signature;

  const result = await x.provider.handle({ body, query, signature, receivedAt: x.receivedAt, signal: x.signal, source: x.delivery.source_ip });
  if (!result.ok) return reject(x, result.rejection.verdict, result.rejection.reason);
  if (result.deferred !== undefined) return recordDeferred(x, result.deferred, result.ignored ?? 'the platform did not answer in time');
  // A call about no order is answered 2xx only once recorded: a refusal would only make the platform retry it.
  const settled = await settleCall(x.deps.database, x.delivery, result, { signal: x.signal, commitBy: x.commitBy });
  const { deliveryId, notificationIds, orderId, orderStatus } = settled;
  if (settled.notApplied !== null) x.deps.metrics.ipnNotApplied.inc({ provider: x.provider.name, kind: settled.notApplied });
  x.finish(settled.verdict, undefined, settled.reply, { deliveryId, notificationIds, orderId, orderStatus });
}

function headerText(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return (Array.isArray(value) ? value.join(',') : value).slice(0, 2048);
}

/** Recorded with a durable fetch in one transaction, then answered 2xx: the fetch runs later (Payline). */
async function recordDeferred(x: Exchange, fetch: DeferredFetch, reason: string): Promise<void> {
  const { deliveryId, reply } = await recordDeferredCall(x.deps.database, x.delivery, fetch, reason);
  if (x.signal.aborted) return;
  x.finish('deferred', undefined, reply, { deliveryId });
}

const EMPTY = Buffer.alloc(0);

/**
 * The write checks the deadline on the database's clock at the end of its statement, before it
 * commits: this margin is left for the commit and the reply, and absorbs a small clock offset
 * between this host and the database's. Should the check pass and the reply still be late, the
 * platform's retry is answered as a duplicate: nothing is lost or applied twice.
 */
const COMMIT_MARGIN_MS = 50;

const bodyLimit = (x: Exchange): number => x.provider.bodyLimitBytes ?? x.deps.bodyLimitBytes;

function checkContentType(header: string | undefined, provider: IpnProvider): string | null {
  const expected = provider.contentTypes.join(' or ');
  if (header === undefined) return provider.contentTypeOptional ? null : `Content-Type missing, expected ${expected}`;
  try {
    const parsed = contentType.parse(header);
    if (!provider.contentTypes.includes(parsed.type)) return `expected ${expected}`;
    const charset = parsed.parameters.charset?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return 'charset must be UTF-8';
    return null;
  } catch {
    return 'invalid Content-Type header';
  }
}

async function readBody(x: Exchange): Promise<Buffer | null> {
  try {
    return await getRawBody(x.req, { limit: bodyLimit(x), length: x.req.headers['content-length'] });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') await reject(x, 'too_large', `limit is ${bodyLimit(x)} bytes`);
    else if (type === 'request.aborted') x.log().info('client aborted the request');
    else await reject(x, 'malformed', 'body could not be read');
    return null;
  }
}

/** How long a rejection waits for its audit record before answering anyway. */
const REJECTION_RECORD_WAIT_MS = 250;

async function reject(x: Exchange, verdict: Verdict, reason: string): Promise<void> {
  const reply = replyLine(verdict, reason);
  // Every rejection, from any source, counts against the record budget (a disallowed source's
  // was taken on arrival): past it, a forger gets the same reply and counters, and nothing is
  // stored or logged.
  if (x.allowed && !x.deps.recordBudget.take(x.delivery.source_ip)) {
    x.deps.metrics.ipnUnrecorded.inc({ provider: x.provider.name, verdict });
    return x.finish(verdict, undefined, reply, {}, false);
  }
  // The rejection does not depend on the database: a slow or absent database must not turn a
  // 401 into a 503. The record still completes in the background when it can.
  const recorded = recordRejectedCall(x.deps.database, x.delivery, verdict, reason).catch((error: unknown) => {
    x.log().warn({ err: error }, 'could not record rejected delivery');
  });
  x.deps.background.track(recorded);
  await within(recorded, REJECTION_RECORD_WAIT_MS, () => undefined);
  x.finish(verdict, undefined, reply);
}
