import { parseArgs } from 'node:util';
import { DEMO_LYRA_SHOP } from '../config';
import type { LyraFormAlgorithm } from '../providers/lyra';
import { lyraFormBody, lyraRestBody, type LyraNotificationOptions } from './lyra-notifications';

const USAGE = `Send a signed Lyra notification to a running receiver, as the platform would.

  npm run simulate -- --status AUTHORISED --order CMD-1 [options]

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
  --verbose           print the body sent`;

async function run(): Promise<void> {
  const { values } = parseArgs({
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
    },
  });
  if (values.help) return console.log(USAGE);
  const fail = (message: string): never => {
    console.error(`simulate: ${message}\n\n${USAGE}`);
    process.exit(2);
  };
  if (values.format !== 'form' && values.format !== 'rest') fail('--format must be form or rest');
  if (values.mode !== 'TEST' && values.mode !== 'PRODUCTION') fail('--mode must be TEST or PRODUCTION');
  if (!['DEBIT', 'CREDIT', 'VERIFICATION'].includes(values.operation)) fail('--operation must be DEBIT, CREDIT or VERIFICATION');
  if (!/^\d+$/.test(values.amount) || !/^\d+$/.test(values.sequence)) fail('--amount and --sequence take whole numbers');
  if (values.algorithm !== 'HMAC-SHA-256' && values.algorithm !== 'SHA-1') fail('--algorithm must be HMAC-SHA-256 or SHA-1');

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
  };
  const body =
    values.format === 'rest'
      ? lyraRestBody(options, values.password ?? DEMO_LYRA_SHOP.testPassword ?? '')
      : lyraFormBody(options, values.key ?? DEMO_LYRA_SHOP.testKey ?? '', values.algorithm as LyraFormAlgorithm);
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/ipn/lyra`;
  if (values.verbose) console.log(`POST ${url}\n${body}\n`);

  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    return fail(`could not reach ${url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}. Is the receiver running (npm start)?`);
  }
  console.log(`${values.format} ${values.status} order ${values.order} -> HTTP ${response.status}  ${await response.text()}`);
  if (!response.ok) process.exitCode = 1;
}

void run();
