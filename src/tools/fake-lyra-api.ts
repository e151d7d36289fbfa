import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Lyra's REST API V4, for the simulator and the tests only: `POST
 * /api-payment/V4/Order/Get` with HTTP Basic `shopId:password`, answered in Lyra's envelope with
 * the order's transactions (`V4/OrderTransactions`), `PSP_010` for an order it does not know, and
 * HTTP 401 for credentials it does not know.
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
      if (req.method !== 'POST' || req.url !== '/api-payment/V4/Order/Get') return void res.writeHead(404).end();
      if (fake.behaviour === 'http503') return void res.writeHead(503).end('Service Unavailable');
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const who = basic === undefined ? undefined : credentials.get(Buffer.from(basic, 'base64').toString('utf8'));
      if (who === undefined) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      let orderId: unknown;
      try {
        orderId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { orderId?: unknown }).orderId;
      } catch {
        orderId = undefined;
      }
      res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
      if (typeof orderId !== 'string') return void res.end(envelope(who.mode, 'ERROR', { errorCode: 'INT_902', errorMessage: 'web-service input data validation error', _type: 'V4/WebService/WebServiceError' }));
      fake.requests.push({ shopId: who.shopId, orderId });
      const transactions = fake.orders.get(fakeLyraOrderKey(who.shopId, who.mode, orderId));
      if (transactions === undefined) return void res.end(envelope(who.mode, 'ERROR', { errorCode: 'PSP_010', errorMessage: 'transaction not found', _type: 'V4/WebService/WebServiceError' }));
      res.end(
        envelope(who.mode, 'SUCCESS', {
          orderId,
          shopId: who.shopId,
          _type: 'V4/OrderTransactions',
          transactions: transactions.map((t) => ({
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
          })),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return Object.assign(fake, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
