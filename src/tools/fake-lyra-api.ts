import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Lyra's REST API V4, for the simulator and the tests only: `POST
 * /api-payment/V4/Order/Get` and `…/Transaction/Get` with HTTP Basic `shopId:password`, answered
 * in Lyra's envelope with the order's transactions (`V4/OrderTransactions`, `PSP_015` beyond 30)
 * or one (`V4/Transaction`), `PSP_010` for what it does not know, and HTTP 401 for credentials it
 * does not know.
 */

export interface FakeLyraTransaction {
  uuid: string;
  detailedStatus: string;
  /** PAID, UNPAID, RUNNING…, as Lyra derives it from detailedStatus. */
  status: string;
  operationType: 'DEBIT' | 'CREDIT' | 'VERIFICATION';
  amount: number;
  currency: string;
  sequenceNumber?: number;
}

export interface FakeLyraApi {
  /** Scheme and host, as `apiUrl` takes it. */
  url: string;
  /** By `<shopId>:<mode>:<orderId>`. */
  orders: Map<string, FakeLyraTransaction[]>;
  behaviour: 'answer' | 'http503';
  requests: { shopId: string; orderId: string }[];
  close(): Promise<void>;
}

export const fakeLyraOrderKey = (shopId: string, mode: string, orderId: string) => `${shopId}:${mode}:${orderId}`;

const envelope = (mode: string, status: 'SUCCESS' | 'ERROR', answer: unknown) =>
  JSON.stringify({ webService: 'Order/Get', version: 'V4', applicationVersion: '6.0.0', status, answer, ticket: null, serverDate: new Date().toISOString(), applicationProvider: 'LYRA', metadata: null, mode, serverUrl: 'https://api.payzen.eu', _type: 'V4/WebService/Response' });

export async function startFakeLyraApi(shops: readonly { shopId: string; testPassword?: string; productionPassword?: string }[], port = 0): Promise<FakeLyraApi> {
  const state: Pick<FakeLyraApi, 'orders' | 'behaviour' | 'requests'> = { orders: new Map(), behaviour: 'answer', requests: [] };
  const credentials = new Map<string, { shopId: string; mode: string }>();
  for (const shop of shops) {
    if (shop.testPassword !== undefined) credentials.set(`${shop.shopId}:${shop.testPassword}`, { shopId: shop.shopId, mode: 'TEST' });
    if (shop.productionPassword !== undefined) credentials.set(`${shop.shopId}:${shop.productionPassword}`, { shopId: shop.shopId, mode: 'PRODUCTION' });
  }
  const fake = state as FakeLyraApi;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const service = req.url === '/api-payment/V4/Order/Get' ? 'order' : req.url === '/api-payment/V4/Transaction/Get' ? 'transaction' : null;
      if (req.method !== 'POST' || service === null) return void res.writeHead(404).end();
      if (fake.behaviour === 'http503') return void res.writeHead(503).end('Service Unavailable');
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const who = basic === undefined ? undefined : credentials.get(Buffer.from(basic, 'base64').toString('utf8'));
      if (who === undefined) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      let request: { orderId?: unknown; uuid?: unknown } = {};
      try {
        request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof request;
      } catch {
        request = {};
      }
      res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
      const error = (errorCode: string, errorMessage: string) => res.end(envelope(who.mode, 'ERROR', { errorCode, errorMessage, _type: 'V4/WebService/WebServiceError' }));
      const key = service === 'order' ? request.orderId : request.uuid;
      if (typeof key !== 'string') return void error('INT_902', 'web-service input data validation error');
      if (service === 'transaction') {
        fake.requests.push({ shopId: who.shopId, orderId: `uuid:${key}` });
        for (const [orderKey, list] of fake.orders) {
          const found = list.find((t) => t.uuid === key);
          if (found !== undefined && orderKey.startsWith(`${who.shopId}:${who.mode}:`)) return void res.end(envelope(who.mode, 'SUCCESS', transactionJson(found, who, orderKey.slice(`${who.shopId}:${who.mode}:`.length))));
        }
        return void error('PSP_010', 'transaction not found');
      }
      fake.requests.push({ shopId: who.shopId, orderId: key });
      const transactions = fake.orders.get(fakeLyraOrderKey(who.shopId, who.mode, key));
      if (transactions === undefined) return void error('PSP_010', 'transaction not found');
      if (transactions.length > 30) return void error('PSP_015', 'Too many results');
      res.end(envelope(who.mode, 'SUCCESS', { orderId: key, shopId: who.shopId, _type: 'V4/OrderTransactions', transactions: transactions.map((t) => transactionJson(t, who, key)) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** A `V4/Transaction` as Lyra renders it (trimmed to what the service reads, and a little more). */
function transactionJson(t: FakeLyraTransaction, who: { shopId: string; mode: string }, orderId: string) {
  return {
    shopId: who.shopId,
    uuid: t.uuid,
    paymentMethodType: 'CARD',
    detailedStatus: t.detailedStatus,
    status: t.status,
    amount: t.amount,
    currency: t.currency,
    creationDate: new Date().toISOString(),
    operationType: t.operationType,
    transactionDetails: { sequenceNumber: t.sequenceNumber ?? 1, cardDetails: { effectiveBrand: 'VISA', pan: '497010XXXXXX0055' } },
    orderDetails: { orderTotalAmount: t.amount, orderCurrency: t.currency, mode: who.mode, orderId },
    _type: 'V4/Transaction',
  };
}
