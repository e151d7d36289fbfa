import { parseArgs } from 'node:util';
import { deliveryView, notificationView, orderViews } from '../audit/views';
import { presentEvent, presentNotification } from '../audit/present';
import { ConfigError, loadConfig } from '../config';
import { TRANSACTION_STATUSES, type TransactionStatus } from '../domain/notification';
import { listNotifications, listOutbox } from '../store/audit';
import { openDatabase } from '../store/database';
import type { OutboxState } from '../store/schema';

const USAGE = `npm run audit -- <one of>
  --order CMD-1 [--shop 12345678] [--provider lyra]   the order, its transactions, history and events
  --notification 42                                  one notification, masked raw fields, calls, events
  --delivery 17                                      one call, masked raw fields
  --notifications [--status refused] [--limit 20]    the latest notifications
  --outbox dead|pending|delivered [--limit 20]       the latest events in that state`;

async function query(values: Record<string, string | boolean | undefined>, db: Parameters<typeof orderViews>[0]): Promise<unknown> {
  const text = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
  const id = (name: string) => {
    const value = text(name) ?? '';
    if (!/^[1-9]\d{0,14}$/.test(value)) throw new Error(`--${name} must be a positive whole number`);
    return Number(value);
  };
  const limit = text('limit') === undefined ? 20 : Math.min(500, Math.max(1, Number(text('limit'))));
  if (text('order') !== undefined) return orderViews(db, { orderId: text('order') as string, shopId: text('shop'), provider: text('provider') });
  if (text('notification') !== undefined) return (await notificationView(db, id('notification'))) ?? 'no such notification';
  if (text('delivery') !== undefined) return (await deliveryView(db, id('delivery'))) ?? 'no such delivery';
  if (values.notifications === true) {
    const status = text('status')?.toLowerCase();
    if (status !== undefined && !(TRANSACTION_STATUSES as readonly string[]).includes(status)) throw new Error(`--status must be one of ${TRANSACTION_STATUSES.join(', ')}`);
    const page = await listNotifications(db, { status: status as TransactionStatus | undefined }, { limit, before: undefined });
    return page.rows.map(presentNotification);
  }
  const state = text('outbox');
  if (state !== undefined) {
    if (!['pending', 'delivered', 'dead'].includes(state)) throw new Error('--outbox must be pending, delivered or dead');
    const page = await listOutbox(db, { state: state as OutboxState }, { limit, before: undefined });
    return page.rows.map(presentEvent);
  }
  throw new Error(USAGE);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      order: { type: 'string' },
      shop: { type: 'string' },
      provider: { type: 'string' },
      notification: { type: 'string' },
      delivery: { type: 'string' },
      notifications: { type: 'boolean' },
      status: { type: 'string' },
      outbox: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, statementTimeoutMs: 30_000 });
  try {
    console.log(JSON.stringify(await query(values, database.db), null, 2));
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `invalid configuration: ${error.message}` : error instanceof Error ? error.message : error);
  process.exit(1);
});
