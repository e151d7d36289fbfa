import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { failoverCause, parseEndpointDirectory, type AttemptOutcome } from '../providers/payline/failover';
import { parsePaylineResponse, type PaylineCall, type PaylineDetails } from '../providers/payline/soap';

export interface PaylineMerchant {
  merchantId: string;
  accessKey: string;
  environment: 'homologation' | 'production';
  /** The endpoint directory (`…/services/servicesendpoints/SOAP/<merchantId>`). */
  directoryUrl: string;
  /** Used when the directory cannot be read. */
  defaultUrl: string;
  /** The merchant's contract numbers; when given, a result under another contract is refused. */
  contracts: string[];
}

export interface FetchedDetails {
  details: PaylineDetails;
  /** The endpoint that answered, and the failed attempts before it, for the audit trail. */
  endpoint: string;
  failedOver: string[];
}

/** No endpoint gave an answer: the platform retries the notification, nothing is recorded as applied. */
export class PaylineUnavailableError extends Error {}

interface HttpReply {
  status: number;
  body: string;
}

const MAX_REPLY_BYTES = 1024 * 1024;

/**
 * One HTTP exchange with a connect timeout of its own (a dead endpoint must leave time for the
 * next one) and the caller's deadline over the whole of it.
 */
function exchange(url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, connectTimeoutMs: number, signal: AbortSignal): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, { method: init.method, headers: init.headers, signal });
    const connectTimer = setTimeout(() => req.destroy(new Error(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    req.on('socket', (socket) => {
      if (!socket.connecting) return clearTimeout(connectTimer);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (error) => {
      clearTimeout(connectTimer);
      reject(error);
    });
    req.on('response', (res: IncomingMessage) => {
      clearTimeout(connectTimer);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) return req.destroy(new Error('reply too large'));
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.end(init.body);
  });
}

/** A 200 that is not a readable answer (a SOAP fault, garbage) is a technical failure, though not one to fail over on. */
function parseAnswer(body: string, call: PaylineCall, endpoint: string): PaylineDetails {
  try {
    return parsePaylineResponse(body, call.method);
  } catch (error) {
    throw new PaylineUnavailableError(`${endpoint}: ${(error as Error).message}`);
  }
}

export interface PaylineApiOptions {
  connectTimeoutMs: number;
  now?: () => number;
}

/**
 * Payline's web services for one merchant, with "bascule à la source": the endpoint directory is
 * read and kept for its ttl; a call goes to the first endpoint and, on a technical failure only,
 * the same request goes to the next one with the `x-failover-*` headers, until the list ends or
 * the deadline comes.
 */
export class PaylineApi {
  #endpoints: { urls: string[]; until: number } | undefined;

  constructor(
    private readonly merchant: PaylineMerchant,
    private readonly options: PaylineApiOptions,
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The directory's endpoints, or the default one when it cannot be read (tried again a minute later). */
  async endpoints(signal: AbortSignal): Promise<string[]> {
    if (this.#endpoints !== undefined && this.#endpoints.until > this.now()) return this.#endpoints.urls;
    let directory = null;
    try {
      const reply = await exchange(this.merchant.directoryUrl, { method: 'GET', headers: { accept: 'application/json' } }, this.options.connectTimeoutMs, signal);
      if (reply.status === 200) directory = parseEndpointDirectory(JSON.parse(reply.body));
    } catch {
      // Unreachable or unreadable: the default endpoint, as the SDK does.
    }
    const urls = directory?.urls ?? [this.merchant.defaultUrl];
    this.#endpoints = { urls, until: this.now() + (directory?.ttlSeconds ?? 60) * 1000 };
    return urls;
  }

  async fetchDetails(call: PaylineCall, signal: AbortSignal): Promise<FetchedDetails> {
    const urls = await this.endpoints(signal);
    const authorization = `Basic ${Buffer.from(`${this.merchant.merchantId}:${this.merchant.accessKey}`).toString('base64')}`;
    const failedOver: string[] = [];
    let failover: Record<string, string> = {};
    for (const [index, base] of urls.entries()) {
      const endpoint = `${base}${call.service}`;
      const started = this.now();
      const headers = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""', authorization, ...failover };
      let outcome: AttemptOutcome;
      let details: PaylineDetails | undefined;
      try {
        const reply = await exchange(endpoint, { method: 'POST', headers, body: call.body }, this.options.connectTimeoutMs, signal);
        if (reply.status !== 200) {
          outcome = { kind: 'http', status: reply.status };
        } else {
          details = parseAnswer(reply.body, call, endpoint);
          outcome = { kind: 'answer', resultCode: details.resultCode };
        }
      } catch (error) {
        if (error instanceof PaylineUnavailableError) throw error;
        if (signal.aborted) throw new PaylineUnavailableError('deadline reached while calling Payline');
        if (!(error instanceof Error) || 'code' in error || error.message.startsWith('no connection')) outcome = { kind: 'connection', reason: (error as Error).message };
        else throw error;
      }
      const cause = failoverCause(outcome);
      if (cause === null) {
        if (details === undefined) throw new PaylineUnavailableError(`Payline ${endpoint} answered HTTP ${(outcome as { status: number }).status}`);
        return { details, endpoint, failedOver };
      }
      failedOver.push(`${endpoint} (${cause})`);
      failover = { 'x-failover-cause': cause, 'x-failover-duration': String(this.now() - started), 'x-failover-origin': endpoint, 'x-failover-index': String(index + 1) };
    }
    throw new PaylineUnavailableError(`every Payline endpoint failed: ${failedOver.join(', ')}`);
  }
}
