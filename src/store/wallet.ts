import { sql, type Kysely, type Transaction } from 'kysely';
import type { InstallmentNotification, PaymentMethodNotification, StoredInstallment, StoredPaymentMethod, StoredSubscription, SubscriptionNotification, WalletNotification } from '../domain/wallet';
import type { DeliveryRecord } from './ingest-statements';
import type { Database, NewOutbox } from './schema';

type Trx = Transaction<Database>;


/**
 * The statements of a call about tokens, subscriptions and installments, all in one transaction
 * (ingest/wallet.ts decides between them). Each subject is locked for the transaction by an
 * advisory lock on its aggregate (its row may not exist yet), so two concurrent calls about one
 * token decide one after the other.
 */
export interface WalletTransaction {
  lock(aggregateId: string): Promise<void>;
  readPaymentMethod(n: PaymentMethodNotification): Promise<StoredPaymentMethod | null>;
  savePaymentMethod(n: PaymentMethodNotification, customerId: string | null): Promise<void>;
  readSubscription(n: SubscriptionNotification): Promise<StoredSubscription | null>;
  saveSubscription(n: SubscriptionNotification): Promise<void>;
  readInstallment(n: InstallmentNotification): Promise<StoredInstallment | null>;
  saveInstallment(n: InstallmentNotification): Promise<void>;
  addEvent(event: Omit<NewOutbox, 'notification_id'>): Promise<void>;
  addDelivery(delivery: DeliveryRecord): Promise<number>;
}

/**
 * Runs `work` in one transaction, then the ingest statement's deadline check: past `commitBy`,
 * everything rolls back (SQLSTATE IR503, store/sqlstate.ts).
 */
export async function inWalletTransaction<T>(db: Kysely<Database>, commitBy: Date | null, work: (tx: WalletTransaction) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const result = await work(walletTransaction(trx));
    await sql`SELECT ipn_ingest_check(true, ${commitBy?.toISOString() ?? null}::timestamptz)`.execute(trx);
    return result;
  });
}

function walletTransaction(trx: Trx): WalletTransaction {
  return {
    // Raw SQL: the builder has no advisory locks. Held to the end of the transaction.
    lock: async (aggregateId) => void (await sql`SELECT pg_advisory_xact_lock(hashtextextended(${aggregateId}, 0))`.execute(trx)),
    readPaymentMethod: (n) => readPaymentMethod(trx, n),
    savePaymentMethod: (n, customerId) => savePaymentMethod(trx, n, customerId),
    readSubscription: async (n) =>
      (await trx
        .selectFrom('subscriptions')
        .select(['status_raw as statusRaw'])
        .where((eb) => eb.and({ ...key(n), subscription_id: n.subscriptionId, token: n.token }))
        .executeTakeFirst()) ?? null,
    saveSubscription: (n) => saveSubscription(trx, n),
    readInstallment: async (n) =>
      (await trx
        .selectFrom('subscription_payments')
        .select(['status', 'status_raw as statusRaw'])
        .where((eb) => eb.and({ ...key(n), subscription_id: n.subscriptionId, token: n.token, recurrence_number: n.recurrenceNumber }))
        .executeTakeFirst()) ?? null,
    saveInstallment: (n) => saveInstallment(trx, n),
    addEvent: async (event) => void (await trx.insertInto('outbox').values({ ...event, notification_id: null }).execute()),
    addDelivery: async (delivery) => (await trx.insertInto('deliveries').values(delivery).returning('id').executeTakeFirstOrThrow()).id,
  };
}

const key = (n: WalletNotification) => ({ provider: n.provider, shop_id: n.shopId, mode: n.mode });

async function readPaymentMethod(trx: Trx, n: PaymentMethodNotification): Promise<StoredPaymentMethod | null> {
  const row = await trx
    .selectFrom('payment_methods')
    .select(['status_raw', 'customer_id', 'card_brand', 'card_last4', 'card_expiry_month', 'card_expiry_year'])
    .where((eb) => eb.and({ ...key(n), token: n.token }))
    .executeTakeFirst();
  return row === undefined ? null : { statusRaw: row.status_raw, customerId: row.customer_id, card: { brand: row.card_brand, last4: row.card_last4, expiryMonth: row.card_expiry_month, expiryYear: row.card_expiry_year } };
}

async function savePaymentMethod(trx: Trx, n: PaymentMethodNotification, customerId: string | null): Promise<void> {
  const values = {
    status_raw: n.statusRaw,
    customer_id: customerId,
    card_brand: n.card.brand,
    card_last4: n.card.last4,
    card_expiry_month: n.card.expiryMonth,
    card_expiry_year: n.card.expiryYear,
  };
  await trx
    .insertInto('payment_methods')
    .values({ ...key(n), token: n.token, ...values })
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'token']).doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}

async function saveSubscription(trx: Trx, n: SubscriptionNotification): Promise<void> {
  const values = {
    customer_id: n.customerId,
    status_raw: n.statusRaw,
    amount: n.amount,
    currency: n.currency,
    rule: n.rule,
    effect_date: n.effectDate,
    initial_amount: n.initialAmount,
    initial_amount_count: n.initialAmountCount,
    order_id: n.orderId,
  };
  await trx
    .insertInto('subscriptions')
    .values({ ...key(n), subscription_id: n.subscriptionId, token: n.token, ...values })
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'subscription_id', 'token']).doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}

async function saveInstallment(trx: Trx, n: InstallmentNotification): Promise<void> {
  const values = { transaction_id: n.transactionId, status: n.status, status_raw: n.statusRaw, amount: n.amount, currency: n.currency };
  await trx
    .insertInto('subscription_payments')
    .values({ ...key(n), subscription_id: n.subscriptionId, token: n.token, recurrence_number: n.recurrenceNumber, ...values })
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'subscription_id', 'token', 'recurrence_number']).doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}
