import { DEMO_OPERATOR_TOKEN, DEMO_PAYBOX_DIRECT_PORT, DEMO_PAYBOX_SITE } from '../config';
import { startFakePayboxDirect, type FakeStatus, type FakeTransaction } from './fake-paybox-direct';

/**
 * `npm run simulate -- --provider paybox --operation refund --order CMD-2 --amount 1000`: asks the
 * running service for a Paybox Direct operation on an order of the demo site, with a fake Paybox
 * Direct standing where the demo site's Direct URLs point. The fake learns the order's
 * transactions from the audit API, as Paybox would know them, then answers the service.
 */

export const DIRECT_OPERATIONS = ['capture', 'refund', 'cancel', 'reconcile'] as const;

export interface DirectValues {
  operation: string;
  order: string;
  amount?: string;
  site: string;
  failover: boolean;
  'api-token'?: string;
  'paybox-status'?: string;
}

type Fail = (message: string) => never;
type Send = (url: string, init: RequestInit, fail: Fail) => Promise<Response>;

interface OrderView {
  status: string;
  refundedAmount: number;
  transactions: { transactionId: string; operation: string; status: string; amount: number | null; callNumber: string | null }[];
}

const DEMO_SITE_ID = `${DEMO_PAYBOX_SITE.site}-${DEMO_PAYBOX_SITE.rang}`;
const FAKE_STATUSES: readonly FakeStatus[] = ['Autorisé', 'Capturé', 'Remboursé', 'Annulé', 'Refusé'];

/** What Paybox knows of an attempt the service recorded: the demo site captures at payment. */
function asPayboxKnowsIt(t: OrderView['transactions'][number], order: OrderView): FakeTransaction | null {
  if (t.operation !== 'debit' || !/^\d+$/.test(t.transactionId) || t.callNumber === null || t.amount === null) return null;
  const status: FakeStatus = t.status === 'cancelled' ? 'Annulé' : t.status === 'refused' ? 'Refusé' : order.refundedAmount > 0 ? 'Remboursé' : 'Capturé';
  return { site: DEMO_PAYBOX_SITE.site, rang: DEMO_PAYBOX_SITE.rang, callNumber: t.callNumber.padStart(10, '0'), status, authorised: t.amount, captured: t.amount, refunded: order.refundedAmount };
}

export async function runDirectOperation(values: DirectValues, send: Send, fail: Fail): Promise<void> {
  if (!(DIRECT_OPERATIONS as readonly string[]).includes(values.operation)) fail(`--operation for Paybox is one of ${DIRECT_OPERATIONS.join(', ')} (or none, for an IPN)`);
  if (values.site !== DEMO_SITE_ID) fail(`Paybox Direct operations are simulated for the demo site ${DEMO_SITE_ID} only: the fake knows its key`);
  if (values.amount !== undefined && !/^\d+$/.test(values.amount)) fail('--amount takes a whole number');
  const status = values['paybox-status'];
  if (status !== undefined && !(FAKE_STATUSES as readonly string[]).includes(status)) fail(`--paybox-status is one of ${FAKE_STATUSES.join(', ')}`);
  const base = `http://127.0.0.1:${process.env.PORT ?? '3000'}/api/v1`;
  const headers = { authorization: `Bearer ${values['api-token'] ?? DEMO_OPERATOR_TOKEN}`, 'content-type': 'application/json' };
  const order = encodeURIComponent(values.order);

  const view = await send(`${base}/orders/${order}?provider=paybox&shopId=${DEMO_SITE_ID}`, { headers }, fail);
  if (view.status === 404) return fail(`order ${values.order} is not known to the service: send its IPN first (npm run simulate -- --provider paybox --order ${values.order})`);
  if (!view.ok) return fail(`the audit API answered ${view.status}: ${await view.text()}`);
  const known = ((await view.json()) as { data: OrderView[] }).data[0] as OrderView;

  let fake;
  try {
    fake = await startFakePayboxDirect([{ site: DEMO_PAYBOX_SITE.site, rang: DEMO_PAYBOX_SITE.rang, hmacKeyHex: DEMO_PAYBOX_SITE.directHmacKey }], DEMO_PAYBOX_DIRECT_PORT);
  } catch {
    return fail(`port ${DEMO_PAYBOX_DIRECT_PORT} is taken: the fake Paybox Direct the demo site calls cannot start`);
  }
  try {
    for (const t of known.transactions) {
      const payboxSide = asPayboxKnowsIt(t, known);
      if (payboxSide !== null) fake.transactions.set(t.transactionId.padStart(10, '0'), status === undefined ? payboxSide : { ...payboxSide, status: status as FakeStatus });
    }
    if (values.failover) fake.behaviour.primary = 'http503';
    const response =
      values.operation === 'reconcile'
        ? await send(`${base}/orders/${order}/reconcile?provider=paybox&shopId=${DEMO_SITE_ID}`, { method: 'POST', headers }, fail)
        : await send(`${base}/orders/${order}/${values.operation}`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ provider: 'paybox', shopId: DEMO_SITE_ID, idempotencyKey: `simulate-${Date.now()}`, ...(values.amount === undefined ? {} : { amount: Number(values.amount) }) }),
          }, fail);
    const asked = fake.questions.map((q) => `${q.host} TYPE ${q.fields.TYPE ?? ''} → ${q.code}`).join(', ');
    console.log(`paybox ${values.operation} order ${values.order} -> HTTP ${response.status}  ${await response.text()}   [fake Paybox Direct asked: ${asked || 'nothing'}]`);
    if (!response.ok) process.exitCode = 1;
  } finally {
    await fake.close();
  }
}
