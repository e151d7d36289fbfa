import { createHttpClient, type HttpClient } from './http-client';
import {
  classifyCode,
  DirectAnswerError,
  echoMismatch,
  parseDirectAnswer,
  signQuestion,
  writeHappened,
  type DirectAccess,
  type DirectAnswer,
  type DirectOperation,
  type DirectQuestion,
  type DirectSite,
  type DirectWrite,
  type SignedQuestion,
} from '../providers/paybox/direct';

/** What the service asks: the question without its number and date, which each attempt draws anew. */
export type DirectRequest = Omit<DirectQuestion, 'questionNumber' | 'at'> & {
  /** For a refund: whether the transaction was refunded before, which an inquiry cannot tell apart. */
  refundedBefore?: boolean;
};

/** One question sent to one host, and what came of it: the audit trail of an exchange. */
export interface DirectAttempt {
  url: string;
  operation: DirectOperation;
  fields: SignedQuestion['fields'];
  /** `answered CODEREPONSE`, or why there is no answer to believe. */
  outcome: string;
  answer: DirectAnswer | null;
}

/**
 * How an exchange ended:
 * - `accepted`: Paybox did it (`CODEREPONSE 00000`), or an inquiry showed it done;
 * - `refused`: Paybox's answer to the request (an amount too high, a transaction not found…);
 * - `unknown`: no answer to believe, and an inquiry could not say whether a write happened. A
 *   write left unknown is never sent again blindly: a later inquiry settles it.
 */
export interface DirectExchange {
  result: 'accepted' | 'refused' | 'unknown';
  /** The answer the result rests on (the operation's, or the inquiry's that showed it done). */
  answer: DirectAnswer | null;
  /** The URL that gave that answer. */
  answeredBy: string | null;
  /** Why the result is unknown. */
  reason: string | null;
  attempts: DirectAttempt[];
}

export interface PayboxDirectOptions {
  /** PAYBOX_DIRECT_TIMEOUT_MS: one request, connection to the last byte of its answer. */
  timeoutMs: number;
  /** The next NUMQUESTION, unique per site (store/paybox-questions.ts). */
  nextQuestion: () => Promise<number>;
  now?: () => Date;
  client?: HttpClient;
}

const MAX_ANSWER_BYTES = 16 * 1024;

/** Errors raised before anything was sent: the host never saw the question. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function notSent(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // A TLS failure (a certificate refused) ends the connection before the request is written.
  return typeof code === 'string' && (NOT_SENT_CODES.has(code) || code.startsWith('ERR_TLS_') || code.includes('CERT'));
}

/** What one attempt gave: an answer to believe, a reason to try the next host, or no answer at all. */
type AttemptResult =
  | { kind: 'answered'; answer: DirectAnswer; class: ReturnType<typeof classifyCode> }
  | { kind: 'not-sent' | 'failed'; reason: string }
  | { kind: 'no-answer'; reason: string };

/**
 * Paybox Direct for one site: questions signed with the site's HMAC key, each with a NUMQUESTION
 * of its own, sent to the site's hosts in order. It goes on to the next host on a technical
 * failure only: no connection, an HTTP status other than 200, or a CODEREPONSE Paybox says to
 * retry on the secondary (`00001`, `00003`; `00097`, `00098`). A refusal is an answer. A write
 * (capture, cancel, refund) whose answer never came (a timeout, a cut connection, an answer that
 * cannot be read or is not to this question) may have happened: an inquiry (TYPE 00017) on the
 * next hosts says whether, and only a write it shows not done is sent again.
 */
export class PayboxDirect {
  readonly #client: HttpClient;
  readonly #site: DirectSite;
  readonly #urls: readonly string[];

  constructor(
    access: DirectAccess,
    private readonly options: PayboxDirectOptions,
  ) {
    this.#site = access;
    this.#urls = access.urls;
    this.#client = options.client ?? createHttpClient({ connectTimeoutMs: Math.min(options.timeoutMs, 5000) });
  }

  async ask(request: DirectRequest, signal?: AbortSignal): Promise<DirectExchange> {
    const attempts: DirectAttempt[] = [];
    for (let index = 0; index < this.#urls.length; index++) {
      const url = this.#urls[index] as string;
      const result = await this.#attempt(url, request, request.operation, attempts, signal);
      if (result.kind === 'answered') {
        if (result.class === 'ok') return settled('accepted', result.answer, url, attempts);
        if (result.class === 'refused') return settled('refused', result.answer, url, attempts);
        if (result.class === 'later') return unknown(`Paybox answered ${result.answer.code} (${result.answer.comment}): to be asked again later`, attempts);
        continue;
      }
      if (signal?.aborted === true) return unknown('the caller gave up waiting', attempts);
      if (result.kind !== 'no-answer' || request.operation === 'inquiry') continue;
      // A write that may have happened: the next hosts are asked whether, before anything is sent again.
      const done = await this.#happened(request as DirectRequest & { operation: DirectWrite }, index + 1, attempts, signal);
      if (done === null) return unknown(`no answer from ${url} (${result.reason}), and no inquiry could say whether the ${request.operation} happened`, attempts);
      if (done.happened) return settled('accepted', done.answer, done.url, attempts);
    }
    return unknown(`no Paybox Direct host answered: ${attempts.map((a) => `${a.url} (${a.outcome})`).join(', ')}`, attempts);
  }

  /** Asks the hosts from `from` on (then the first ones) what the transaction's state is. */
  async #happened(request: DirectRequest & { operation: DirectWrite }, from: number, attempts: DirectAttempt[], signal?: AbortSignal): Promise<{ happened: boolean; answer: DirectAnswer; url: string } | null> {
    const order = [...this.#urls.slice(from), ...this.#urls.slice(0, from)];
    const inquiry: DirectRequest = { operation: 'inquiry', transactionNumber: request.transactionNumber, callNumber: request.callNumber };
    for (const url of order) {
      const result = await this.#attempt(url, inquiry, 'inquiry', attempts, signal);
      if (result.kind !== 'answered') continue;
      if (result.class === 'failover') continue;
      if (result.class !== 'ok') return null;
      const happened = writeHappened(request.operation, result.answer.status, request.refundedBefore === true);
      return happened === null ? null : { happened, answer: result.answer, url };
    }
    return null;
  }

  async #attempt(url: string, request: DirectRequest, operation: DirectOperation, attempts: DirectAttempt[], signal?: AbortSignal): Promise<AttemptResult> {
    const question = signQuestion(this.#site, { ...request, operation, questionNumber: await this.options.nextQuestion(), at: (this.options.now ?? (() => new Date()))() });
    const record = (outcome: string, answer: DirectAnswer | null) => attempts.push({ url, operation, fields: question.fields, outcome, answer });
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let reply;
    try {
      reply = await this.#client.send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/plain' },
        body: question.body,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
        maxBodyBytes: MAX_ANSWER_BYTES,
        overflow: 'refuse',
        encoding: 'latin1',
      });
    } catch (error) {
      const reason = timeout.aborted ? `no answer within ${this.options.timeoutMs} ms` : (error as Error).message;
      const kind = notSent(error) ? 'not-sent' : 'no-answer';
      record(kind === 'not-sent' ? `not sent: ${reason}` : `no answer: ${reason}`, null);
      return { kind, reason };
    }
    if (reply.status !== 200) {
      record(`HTTP ${reply.status}`, null);
      return { kind: 'failed', reason: `HTTP ${reply.status}` };
    }
    let answer: DirectAnswer;
    try {
      answer = parseDirectAnswer(Buffer.from(reply.body, 'latin1'));
    } catch (error) {
      if (!(error instanceof DirectAnswerError)) throw error;
      record(`unreadable answer: ${error.message}`, null);
      return { kind: 'no-answer', reason: error.message };
    }
    const mismatch = echoMismatch(question, answer);
    if (mismatch !== null) {
      // Not the answer to this question: never applied, and for a write, as if none had come.
      record(`answer to another question: ${mismatch}`, answer);
      return { kind: 'no-answer', reason: mismatch };
    }
    const codeClass = classifyCode(answer.code);
    record(`answered ${answer.code}`, answer);
    return { kind: 'answered', answer, class: codeClass };
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

function settled(result: 'accepted' | 'refused', answer: DirectAnswer, url: string, attempts: DirectAttempt[]): DirectExchange {
  return { result, answer, answeredBy: url, reason: null, attempts };
}

function unknown(reason: string, attempts: DirectAttempt[]): DirectExchange {
  return { result: 'unknown', answer: null, answeredBy: null, reason, attempts };
}
