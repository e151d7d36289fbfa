import { randomBytes } from 'node:crypto';
import { DEMO_LYRA_API_PORT, DEMO_LYRA_SHOP, DEMO_OPERATOR_TOKEN } from '../config';
import { fakeLyraOrderKey, startFakeLyraApi } from './fake-lyra-api';

/**
 * `npm run simulate -- --lose --order CMD-9`: a payment whose notification is lost for good. The
 * shop registers the payment it expects; Lyra (a fake, started where the demo shop's `apiUrl`
 * points) takes it and notifies nobody; the service is asked about the order, as its worker asks
 * at each sweep once RECONCILE_AFTER_S has passed, and finds the payment through `Order/Get`.
 */

export interface LostValues {
  order: string;
  amount: string;
  'api-token'?: string;
}

type Fail = (message: string) => never;
type Send = (url: string, init: RequestInit, fail: Fail) => Promise<Response>;

export async function runLostPayment(values: LostValues, send: Send, fail: Fail): Promise<void> {
  if (!/^\d+$/.test(values.amount)) fail('--amount takes a whole number');
  const base = `http://127.0.0.1:${process.env.PORT ?? '3000'}/api/v1`;
  const headers = { authorization: `Bearer ${values['api-token'] ?? DEMO_OPERATOR_TOKEN}`, 'content-type': 'application/json' };
  const shopId = DEMO_LYRA_SHOP.shopId;
  const expected = { provider: 'lyra', shopId, orderId: values.order, mode: 'TEST', amount: Number(values.amount), currency: 'EUR', expiresAt: new Date(Date.now() + 15 * 60_000).toISOString() };
  const registered = await send(`${base}/expected-payments`, { method: 'POST', headers, body: JSON.stringify(expected) }, fail);
  if (!registered.ok) return fail(`the service refused the expected payment: HTTP ${registered.status} ${await registered.text()}`);
  console.log(`1. the shop expects order ${values.order} (${values.amount} EUR cents): POST /api/v1/expected-payments -> HTTP ${registered.status}`);

  let lyra;
  try {
    lyra = await startFakeLyraApi([DEMO_LYRA_SHOP], DEMO_LYRA_API_PORT);
  } catch {
    return fail(`port ${DEMO_LYRA_API_PORT} is taken: the fake Lyra API the demo shop asks cannot start`);
  }
  try {
    lyra.orders.set(fakeLyraOrderKey(shopId, 'TEST', values.order), [{ uuid: randomBytes(16).toString('hex'), detailedStatus: 'AUTHORISED', status: 'PAID', operationType: 'DEBIT', amount: Number(values.amount), currency: 'EUR' }]);
    console.log('2. the buyer pays at Lyra; the notification never reaches the service');
    const reconciled = await send(`${base}/orders/${encodeURIComponent(values.order)}/reconcile?provider=lyra&shopId=${shopId}&mode=TEST`, { method: 'POST', headers }, fail);
    const answer = await reconciled.text();
    console.log(`3. the reconciliation asks Lyra (Order/Get), as the worker does at its sweep: HTTP ${reconciled.status}  ${answer}`);
    if (!reconciled.ok) process.exitCode = 1;
  } finally {
    await lyra.close();
  }
}
