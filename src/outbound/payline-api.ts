import { createHttpClient, type HttpClient, type HttpRequest } from './http-client';
import { failoverCause, parseEndpointDirectory, type AttemptOutcome } from '../providers/payline/failover';
import { parsePaylineResponse, type PaylineCall, type PaylineDetails } from '../providers/payline/soap';
import type { PaylineMerchant } from '../providers/payline/config';

export interface FetchedDetails {
  details: PaylineDetails;
  /** The endpoint that answered, and the failed attempts before it, for the audit trail. */
  endpoint: string;
  failedOver: string[];
}

/** No endpoint gave an answer: the platform retries the notification, nothing is recorded as applied. */
export class PaylineUnavailableError extends Error {}

const MAX_REPLY_BYTES = 1024 * 1024;

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
  readonly #client: HttpClient;

  constructor(
    private readonly merchant: PaylineMerchant,
    private readonly options: PaylineApiOptions,
  ) {
    this.#client = createHttpClient({ connectTimeoutMs: options.connectTimeoutMs });
  }

  /** One exchange; a reply larger than any answer of Payline's is refused. */
  private exchange(url: string, init: Pick<HttpRequest, 'method' | 'headers' | 'body'>, signal: AbortSignal) {
    return this.#client.send(url, { ...init, signal, maxBodyBytes: MAX_REPLY_BYTES, overflow: 'refuse' });
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The directory's endpoints, or the default one when it cannot be read (tried again a minute later). */
  async endpoints(signal: AbortSignal): Promise<string[]> {
    if (this.#endpoints !== undefined && this.#endpoints.until > this.now()) return this.#endpoints.urls;
    let directory = null;
    try {
      const reply = await this.exchange(this.merchant.directoryUrl, { method: 'GET', headers: { accept: 'application/json' } }, signal);
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
        const reply = await this.exchange(endpoint, { method: 'POST', headers, body: call.body }, signal);
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
