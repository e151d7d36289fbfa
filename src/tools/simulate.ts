import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { DEMO_LYRA_API_PORT, DEMO_LYRA_SHOP, DEMO_PAYBOX_DIRECT_PORT, DEMO_PAYBOX_SITE, DEMO_PAYLINE_PORT, DEMO_STRIPE_ENDPOINT } from '../config';
import { startFakePayline } from './fake-payline';
import type { LyraFormAlgorithm } from '../providers/lyra';
import { lyraFormBody, lyraRestBody, type LyraNotificationOptions, type LyraPageAction, type LyraWalletOptions } from './lyra-notifications';
import { DEFAULT_RETOUR, payboxMessage } from './paybox-notifications';
import { stripeEventBody, stripeSignatureHeader } from './stripe-notifications';
import { runDirectOperation } from './simulate-paybox-direct';
import { runLostPayment } from './simulate-lost';

const USAGE = `Send a signed notification to a running receiver, as the platform would.

  npm run simulate -- --status AUTHORISED --order CMD-1 [options]        Lyra
  npm run simulate -- --provider paybox --error 00000 --order CMD-1       Paybox / Up2pay
  npm run simulate -- --provider stripe --type payment_intent.succeeded --order CMD-1
  npm run simulate -- --provider payline --code 00000 --order CMD-1

  --provider P        lyra (default), paybox, stripe or payline

Lyra:
  --url URL           receiver (default http://127.0.0.1:$PORT/ipn/lyra, PORT default 3000)
  --format form|rest  vads_* form notification (default) or REST kr-answer
  --status STATUS     vads_trans_status / detailedStatus (default AUTHORISED)
  --order ID          order id (default CMD-<time>)
  --amount CENTS      amount in minor units (default 4990)
  --currency CODE     ISO 4217 alpha-3 (default EUR)
  --sequence N        sequence number: a new attempt of the same order (default 1)
  --operation OP      DEBIT (default), CREDIT (refund) or VERIFICATION
  --config CONFIG     vads_payment_config, e.g. MULTI:first=2000;count=3;period=30
  --cycle OPEN|CLOSED REST orderCycle (default CLOSED)
  --transaction UUID  transaction uuid (default: derived from shop, order, sequence, operation)
  --resend            imitate a back-office resend (source BO, fewer fields, new vads_hash)
  --source SRC        vads_url_check_src (default PAY)
  --shop ID           shop id (default the demo shop ${DEMO_LYRA_SHOP.shopId})
  --mode TEST|PRODUCTION
  --key KEY           form key (default the demo test key)
  --password PWD      REST password (default the demo test password)
  --algorithm ALG     HMAC-SHA-256 (default) or SHA-1
  --verbose           print the body sent
  --page-action A     form only: REGISTER, REGISTER_UPDATE, REGISTER_PAY, REGISTER_SUBSCRIBE or
                      REGISTER_PAY_SUBSCRIBE: a token (alias) saved, with a subscription for SUBSCRIBE
  --token ID          vads_identifier (default derived from the shop and customer)
  --customer ID       vads_cust_id
  --subscription ID   vads_subscription: the subscription created, or paid with --recurrence
  --recurrence N      vads_recurrence_number: installment N of --subscription (source REC)
  --no-transaction    a token request without payment nor card verification

Paybox (signed with the project's simulator key, keys/paybox/, which only the demo
configuration trusts; set PAYBOX_PUBLIC_KEYS=keys/paybox/simulator-public.pem to test yours):
  --url URL           receiver (default http://127.0.0.1:$PORT/ipn/paybox)
  --error CODE        E: 00000 paid (default), 00151 refused, 99999 pending, 00030 timed out
  --order ID          R: the order reference
  --amount CENTS      M: amount in minor units (default 4990)
  --call N            T: call number, one per attempt (default derived from the time)
  --transaction N     S: transaction number (default derived from the call number)
  --site SITE-RANG    the site URL parameter (default ${DEMO_PAYBOX_SITE.site}-${DEMO_PAYBOX_SITE.rang})
  --method GET|POST   GET (default, the query string) or POST (PBX_RUF1=POST, the body)
  --retour MAPPING    PBX_RETOUR (default ${DEFAULT_RETOUR})
  --private-key FILE  PEM private key to sign with (default the simulator key)

Paybox Direct (the service asks a fake Paybox Direct, started on port ${DEMO_PAYBOX_DIRECT_PORT} where the
demo site's Direct URLs point, which knows the order's transactions as the service recorded them):
  npm run simulate -- --provider paybox --operation refund --order CMD-2 --amount 1000
  --operation OP      capture, refund, cancel, or reconcile (an inquiry of each transaction)
  --amount CENTS      minor units (default: the whole amount the operation may take)
  --paybox-status S   what Paybox says of the transactions: Autorisé, Capturé, Remboursé (a refund
                      made in the back office), Annulé or Refusé (default: as the service knows)
  --failover          the primary host answers 503: the service asks the secondary
  --api-token TOKEN   an operator token with the operate scope (default the demo's)

A lost notification, found by the reconciliation (the demo's Lyra shop; a fake Lyra API is
started on port ${DEMO_LYRA_API_PORT}, where the shop's apiUrl points):
  npm run simulate -- --lose --order CMD-9 [--amount CENTS]

Stripe (signed with the demo endpoint's secret unless --secret is given):
  --url URL           receiver (default http://127.0.0.1:$PORT/ipn/stripe)
  --type TYPE         event type (default payment_intent.succeeded): payment_intent.payment_failed,
                      payment_intent.canceled, refund.created, checkout.session.completed…
  --order ID          metadata.order_id (client_reference_id for checkout sessions)
  --amount CENTS      amount in minor units (default 4990)
  --currency CODE     ISO 4217 (default EUR)
  --payment-intent ID the PaymentIntent (default pi_3SimulatorPaymentIntent)
  --charge ID         the charge of the attempt (payment_failed: one per attempt)
  --refund ID         the refund id (refund.*)
  --event ID          event id (default new): repeat one to imitate a redelivery
  --secret SECRET     endpoint signing secret (default the demo's)

Payline (a fake Payline API is started on port ${DEMO_PAYLINE_PORT}, where the demo merchant
fetches results; for demos and tests only):
  --url URL           receiver (default http://127.0.0.1:$PORT/ipn/payline)
  --code CODE         result code the fake Payline answers (default 00000; 01100 refused,
                      02306 pending, 02319 cancelled)
  --order ID          order.ref
  --amount CENTS      amount in minor units (default 4990)
  --transaction ID    transaction.id (default derived from the time)
  --failover          the first endpoint answers 503: the receiver must fail over to the second`;

async function run(): Promise<void> {
  const { values, tokens } = parseArgs({
    tokens: true,
    options: {
      url: { type: 'string' },
      format: { type: 'string', default: 'form' },
      status: { type: 'string', default: 'AUTHORISED' },
      order: { type: 'string', default: `CMD-${Date.now()}` },
      amount: { type: 'string', default: '4990' },
      currency: { type: 'string', default: 'EUR' },
      sequence: { type: 'string', default: '1' },
      operation: { type: 'string', default: 'DEBIT' },
      config: { type: 'string' },
      cycle: { type: 'string', default: 'CLOSED' },
      transaction: { type: 'string' },
      resend: { type: 'boolean', default: false },
      source: { type: 'string' },
      shop: { type: 'string', default: DEMO_LYRA_SHOP.shopId },
      mode: { type: 'string', default: 'TEST' },
      key: { type: 'string' },
      password: { type: 'string' },
      algorithm: { type: 'string', default: 'HMAC-SHA-256' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      provider: { type: 'string', default: 'lyra' },
      error: { type: 'string', default: '00000' },
      call: { type: 'string', default: String(Date.now() % 100_000_000) },
      site: { type: 'string', default: `${DEMO_PAYBOX_SITE.site}-${DEMO_PAYBOX_SITE.rang}` },
      method: { type: 'string', default: 'GET' },
      retour: { type: 'string', default: DEFAULT_RETOUR },
      'private-key': { type: 'string' },
      type: { type: 'string', default: 'payment_intent.succeeded' },
      'payment-intent': { type: 'string' },
      charge: { type: 'string' },
      refund: { type: 'string' },
      event: { type: 'string' },
      secret: { type: 'string', default: DEMO_STRIPE_ENDPOINT.secrets[0] },
      code: { type: 'string', default: '00000' },
      failover: { type: 'boolean', default: false },
      'page-action': { type: 'string' },
      token: { type: 'string' },
      customer: { type: 'string' },
      subscription: { type: 'string' },
      recurrence: { type: 'string' },
      'no-transaction': { type: 'boolean', default: false },
      'api-token': { type: 'string' },
      'paybox-status': { type: 'string' },
      lose: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const fail = (message: string): never => {
    console.error(`simulate: ${message}\n\n${USAGE}`);
    process.exit(2);
  };
  const given = (name: string) => tokens.some((token) => token.kind === 'option' && token.name === name);
  if (values.lose) return runLostPayment(values, send, fail);
  if (values.provider === 'paybox' && given('operation')) {
    const { amount, ...rest } = values;
    return runDirectOperation({ ...rest, ...(given('amount') ? { amount } : {}) }, send, fail);
  }
  if (values.provider === 'paybox') return sendPaybox(values, fail);
  if (values.provider === 'stripe') return sendStripe(values, fail);
  if (values.provider === 'payline') return sendPayline(values, fail);
  if (values.provider !== 'lyra') fail('--provider must be lyra, paybox, stripe or payline');
  if (values.format !== 'form' && values.format !== 'rest') fail('--format must be form or rest');
  if (values.mode !== 'TEST' && values.mode !== 'PRODUCTION') fail('--mode must be TEST or PRODUCTION');
  if (!['DEBIT', 'CREDIT', 'VERIFICATION'].includes(values.operation)) fail('--operation must be DEBIT, CREDIT or VERIFICATION');
  if (!/^\d+$/.test(values.amount) || !/^\d+$/.test(values.sequence)) fail('--amount and --sequence take whole numbers');
  if (values.algorithm !== 'HMAC-SHA-256' && values.algorithm !== 'SHA-1') fail('--algorithm must be HMAC-SHA-256 or SHA-1');
  const wallet = walletOptions(values, fail);

  const options: LyraNotificationOptions = {
    shopId: values.shop,
    mode: values.mode as 'TEST' | 'PRODUCTION',
    orderId: values.order,
    status: values.status,
    amount: Number(values.amount),
    currency: values.currency,
    sequenceNumber: Number(values.sequence),
    operation: values.operation as 'DEBIT' | 'CREDIT' | 'VERIFICATION',
    resend: values.resend,
    orderCycle: values.cycle === 'OPEN' ? 'OPEN' : 'CLOSED',
    ...(values.config !== undefined ? { paymentConfig: values.config } : {}),
    ...(values.source !== undefined ? { source: values.source } : {}),
    ...(values.transaction !== undefined ? { transactionUuid: values.transaction } : {}),
    ...(values.status === 'ABANDONED' && values.transaction === undefined ? { transactionUuid: null } : {}),
    ...(wallet !== undefined ? { wallet } : {}),
  };
  const body =
    values.format === 'rest'
      ? lyraRestBody(options, values.password ?? DEMO_LYRA_SHOP.testPassword ?? '')
      : lyraFormBody(options, values.key ?? DEMO_LYRA_SHOP.testKey ?? '', values.algorithm as LyraFormAlgorithm);
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/ipn/lyra`;
  if (values.verbose) console.log(`POST ${url}\n${body}\n`);
  const response = await send(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, fail);
  const what = wallet === undefined ? values.status : [wallet.pageAction, wallet.recurrence === undefined ? undefined : `installment ${wallet.recurrence} of ${wallet.subscription}`, wallet.withoutTransaction ? undefined : values.status].filter((part) => part !== undefined).join(' ');
  console.log(`${values.format} ${what} order ${values.order} -> HTTP ${response.status}  ${await response.text()}`);
  if (!response.ok) process.exitCode = 1;
}

type Fail = (message: string) => never;

const PAGE_ACTIONS: readonly LyraPageAction[] = ['PAYMENT', 'REGISTER', 'REGISTER_UPDATE', 'REGISTER_PAY', 'REGISTER_SUBSCRIBE', 'REGISTER_PAY_SUBSCRIBE'];

interface WalletValues {
  'page-action'?: string;
  token?: string;
  customer?: string;
  subscription?: string;
  recurrence?: string;
  'no-transaction': boolean;
}

/** The token and subscription options of a Lyra form notification, when any is given. */
function walletOptions(values: WalletValues, fail: Fail): LyraWalletOptions | undefined {
  const action = values['page-action'];
  if (action === undefined && values.recurrence === undefined && values.subscription === undefined) return undefined;
  if (action !== undefined && !(PAGE_ACTIONS as readonly string[]).includes(action)) fail(`--page-action must be one of ${PAGE_ACTIONS.join(', ')}`);
  if (values.recurrence !== undefined && !/^\d{1,2}$/.test(values.recurrence)) fail('--recurrence takes a whole number (1 to 99)');
  if (values.recurrence !== undefined && values.subscription === undefined) fail('--recurrence needs --subscription');
  return {
    ...(action !== undefined ? { pageAction: action as LyraPageAction } : {}),
    ...(values.token !== undefined ? { token: values.token } : {}),
    ...(values.customer !== undefined ? { customerId: values.customer } : {}),
    ...(values.subscription !== undefined ? { subscription: values.subscription } : {}),
    ...(values.recurrence !== undefined ? { recurrence: Number(values.recurrence) } : {}),
    withoutTransaction: values['no-transaction'],
  };
}

async function send(url: string, init: RequestInit, fail: Fail): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    return fail(`could not reach ${url}: ${cause}. Is the receiver running (npm start)?`);
  }
}

interface PayboxValues {
  url?: string;
  order: string;
  amount: string;
  error: string;
  call: string;
  transaction?: string;
  site: string;
  method: string;
  retour: string;
  'private-key'?: string;
  verbose: boolean;
}

async function sendPaybox(values: PayboxValues, fail: Fail): Promise<void> {
  if (!/^\d{5}$/.test(values.error)) fail('--error takes a five-digit Paybox code');
  if (!/^\d+$/.test(values.amount) || !/^\d+$/.test(values.call)) fail('--amount and --call take whole numbers');
  if (values.method !== 'GET' && values.method !== 'POST') fail('--method must be GET or POST');
  let privateKeyPem: string | undefined;
  try {
    privateKeyPem = values['private-key'] === undefined ? undefined : readFileSync(values['private-key'], 'utf8');
  } catch {
    fail(`cannot read ${values['private-key']}`);
  }
  const message = payboxMessage({
    orderId: values.order,
    error: values.error,
    amount: Number(values.amount),
    call: values.call,
    retour: values.retour,
    ...(values.transaction !== undefined ? { transaction: values.transaction } : {}),
    ...(privateKeyPem !== undefined ? { privateKeyPem } : {}),
  });
  const base = values.url ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/ipn/paybox`;
  const site = `site=${encodeURIComponent(values.site)}`;
  const byGet = values.method === 'GET';
  const url = byGet ? `${base}?${site}&${message}` : `${base}?${site}`;
  if (values.verbose) console.log(`${values.method} ${url}${byGet ? '' : `\n${message}`}\n`);
  const init: RequestInit = byGet ? { method: 'GET' } : { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: message };
  const response = await send(url, init, fail);
  const text = await response.text();
  console.log(`paybox ${values.error} order ${values.order} -> HTTP ${response.status}  ${text === '' ? '(empty page)' : text}`);
  if (!response.ok) process.exitCode = 1;
}

interface StripeValues {
  url?: string;
  type: string;
  order: string;
  amount: string;
  currency: string;
  'payment-intent'?: string;
  charge?: string;
  refund?: string;
  event?: string;
  secret: string;
  verbose: boolean;
}

async function sendStripe(values: StripeValues, fail: Fail): Promise<void> {
  if (!/^\d+$/.test(values.amount)) fail('--amount takes a whole number');
  const body = stripeEventBody({
    type: values.type,
    orderId: values.order,
    amount: Number(values.amount),
    currency: values.currency,
    ...(values['payment-intent'] !== undefined ? { paymentIntent: values['payment-intent'] } : {}),
    ...(values.charge !== undefined ? { charge: values.charge } : {}),
    ...(values.refund !== undefined ? { refund: values.refund } : {}),
    ...(values.event !== undefined ? { id: values.event } : {}),
  });
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/ipn/stripe`;
  const signature = stripeSignatureHeader(body, [values.secret]);
  if (values.verbose) console.log(`POST ${url}\nStripe-Signature: ${signature}\n${body}\n`);
  const response = await send(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature }, body }, fail);
  console.log(`stripe ${values.type} order ${values.order} -> HTTP ${response.status}  ${await response.text()}`);
  if (!response.ok) process.exitCode = 1;
}

interface PaylineValues {
  url?: string;
  code: string;
  order: string;
  amount: string;
  transaction?: string;
  failover: boolean;
  verbose: boolean;
}

const SHORT_MESSAGES: Readonly<Record<string, string>> = { '00000': 'ACCEPTED', '01100': 'REFUSED', '02306': 'INPROGRESS', '02319': 'CANCELLED' };

async function sendPayline(values: PaylineValues, fail: Fail): Promise<void> {
  if (!/^\d{5}$/.test(values.code) || !/^\d+$/.test(values.amount)) fail('--code takes five digits and --amount a whole number');
  let fake;
  try {
    fake = await startFakePayline(DEMO_PAYLINE_PORT);
  } catch {
    return fail(`port ${DEMO_PAYLINE_PORT} is taken: the fake Payline the demo merchant calls cannot start`);
  }
  try {
    const token = `tok${Date.now().toString(36)}`;
    const transactionId = values.transaction ?? String(Date.now());
    fake.results.set(token, { code: values.code, shortMessage: SHORT_MESSAGES[values.code] ?? 'ERROR', transactionId, amount: Number(values.amount), currency: '978', action: '101', orderRef: values.order });
    if (values.failover) fake.endpoints[0] = { name: 'a', behaviour: 'http503' };
    const url = `${values.url ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/ipn/payline`}?notificationType=WEBTRS&token=${token}`;
    if (values.verbose) console.log(`GET ${url}\n`);
    const response = await send(url, { method: 'GET' }, fail);
    const answered = fake.calls.map((c) => `${c.endpoint}${c.headers['x-failover-cause'] === undefined ? '' : ` (after ${String(c.headers['x-failover-cause'])})`}`).join(', ');
    console.log(`payline ${values.code} order ${values.order} -> HTTP ${response.status}  ${await response.text()}   [fake Payline endpoints called: ${answered || 'none'}]`);
    if (!response.ok) process.exitCode = 1;
  } finally {
    await fake.close();
  }
}

void run();
