import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { DirectRequestError, type OperationAnswer, type PayboxOperations } from '../ingest/paybox-direct';
import type { DirectWrite } from '../providers/paybox/direct';
import { onlyKnown, text } from './params';
import { invalidParameter, ProblemError } from './problem';
import type { OperatorToken } from './tokens';

export type Logged = <T>(req: Request, res: Response, action: string, target: string, run: () => Promise<T>, detailOf: (result: T) => string) => Promise<T>;
export type Caller = (req: Request) => { sourceIp: string; requestId: string | null };

const WRITES: readonly DirectWrite[] = ['capture', 'refund', 'cancel'];
const BODY_FIELDS = ['provider', 'shopId', 'amount', 'idempotencyKey'];
/** Printable ASCII, as Stripe's and most idempotency keys are; long enough for a UUID and a prefix. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** JSON bodies of the API's operations: small objects, nothing else. */
export const jsonBody = express.json({ limit: '4kb', strict: true, type: 'application/json' });

const unprocessable = (detail: string) => new ProblemError({ title: 'Unprocessable request', status: 422, detail });

/** Paybox Direct's errors as the API's problems; anything else is the router's 503. */
export async function asProblem<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof DirectRequestError)) throw error;
    const title = error.status === 404 ? 'Not found' : error.status === 409 ? 'Conflict' : 'Unprocessable request';
    throw new ProblemError({ title, status: error.status, detail: error.message });
  }
}

/** Only Paybox has operations here; the reconciliation issue brings the others. */
export function requirePaybox(provider: unknown, operations: PayboxOperations | undefined, what: string): PayboxOperations {
  if (provider !== 'paybox') throw unprocessable(`${what} go${what.endsWith('s') ? '' : 'es'} through Paybox Direct here: provider must be paybox${typeof provider === 'string' ? `, not ${provider.slice(0, 20)}` : ''}`);
  if (operations === undefined) throw new ProblemError({ title: 'Conflict', status: 409, detail: 'no Paybox site has a directHmacKey: set it in PAYBOX_SITES to use Paybox Direct' });
  return operations;
}

interface WriteBody {
  provider: unknown;
  shopId: string;
  amount?: number;
  idempotencyKey: string;
}

function writeBody(body: unknown): WriteBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidParameter('body', 'a JSON object is required: { "provider", "shopId", "amount", "idempotencyKey" } (Content-Type: application/json)');
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((name) => !BODY_FIELDS.includes(name));
  if (unknown !== undefined) throw invalidParameter(unknown.slice(0, 40), `not a field of this request (${BODY_FIELDS.join(', ')})`);
  const { provider, shopId, amount, idempotencyKey } = fields;
  if (typeof shopId !== 'string' || shopId === '') throw invalidParameter('shopId', 'the Paybox site as <site>-<rang> is required');
  if (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey)) throw invalidParameter('idempotencyKey', 'required: 1 to 255 printable ASCII characters, new for each operation');
  if (amount !== undefined && (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 1 || amount > 9_999_999_999)) throw invalidParameter('amount', 'a whole number of minor units, from 1 to 9999999999');
  return { provider, shopId, idempotencyKey, ...(amount === undefined ? {} : { amount }) };
}

const present = (a: OperationAnswer) => ({ result: a.result, code: a.code, comment: a.comment, orderStatus: a.orderStatus, operationId: a.operationId, amount: a.amount, answeredBy: a.answeredBy, reason: a.reason, deliveryId: a.deliveryId });

/**
 * Captures, refunds and cancels through Paybox Direct (scope `operate`). Answered 200 once Paybox was asked, whatever it said; problems only for a
 * request refused before anything was sent.
 */
export function directRoutes(router: Router, operate: RequestHandler, operations: PayboxOperations | undefined, logged: Logged, caller: Caller): void {
  const operatorName = (res: Response) => (res.locals.operator as OperatorToken).name;
  for (const operation of WRITES) {
    router.post(`/orders/:orderId/${operation}`, operate, jsonBody, async (req, res) => {
      onlyKnown(req.query, []);
      const orderId = text(req.params, 'orderId') as string;
      const result = await logged(req, res, operation, `order ${orderId}`, () =>
        asProblem(async () => {
          const body = writeBody(req.body);
          const direct = requirePaybox(body.provider, operations, `${operation}s`);
          const request = { orderId, shopId: body.shopId, operation, idempotencyKey: body.idempotencyKey, ...(body.amount === undefined ? {} : { amount: body.amount }) };
          return direct.operate(request, { tokenName: operatorName(res), ...caller(req) });
        }),
      (a) => `${a.result}${a.code === null ? '' : ` ${a.code}`} (operation ${a.operationId}, ${a.amount})`);
      res.json(present(result));
    });
  }
}
