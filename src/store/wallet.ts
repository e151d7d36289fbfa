import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  buildWalletEventPayload,
  decideInstallment,
  decidePaymentMethod,
  decideSubscription,
  walletAggregate,
  type InstallmentNotification,
  type PaymentMethodNotification,
  type SubscriptionNotification,
  type WalletDecision,
  type WalletNotification,
} from '../domain/wallet';
import { DeadlineExceededError } from './ingest';
import type { DeliveryRecord } from './ingest-statements';
import { PAST_DEADLINE, sqlStateOf } from './sqlstate';
import type { Database } from './schema';

type Trx = Transaction<Database>;

export interface WalletWriteOptions {
  /** The write must end before this time, or it rolls back (the caller has answered 503). */
  commitBy?: Date | null;
  /** The call's record, written in the same transaction once the decisions are known. */
  delivery?: (decisions: readonly WalletDecision[]) => DeliveryRecord;
}

/**
 * Decides and writes what a call says of tokens, subscriptions and installments, with their
 * events, in one transaction. Each subject is locked for the transaction (an advisory lock on its
 * aggregate: its row may not exist yet), so two concurrent calls about one token decide one after
 * the other and announce it once.
 */
export async function writeWallet(db: Kysely<Database>, notifications: readonly WalletNotification[], options: WalletWriteOptions = {}): Promise<{ decisions: WalletDecision[]; deliveryId: number | null }> {
  try {
    return await db.transaction().execute(async (trx) => {
      const decisions: WalletDecision[] = [];
      for (const n of notifications) decisions.push(await applyOne(trx, n));
      const deliveryId = options.delivery === undefined ? null : (await trx.insertInto('deliveries').values(options.delivery(decisions)).returning('id').executeTakeFirstOrThrow()).id;
      // The same check as the ingest statement's: past the deadline, everything rolls back.
      await sql`SELECT ipn_ingest_check(true, ${options.commitBy?.toISOString() ?? null}::timestamptz)`.execute(trx);
      return { decisions, deliveryId };
    });
  } catch (error) {
    if (sqlStateOf(error) === PAST_DEADLINE) throw new DeadlineExceededError();
    throw error;
  }
}

async function applyOne(trx: Trx, n: WalletNotification): Promise<WalletDecision> {
  const aggregate = walletAggregate(n);
  // Raw SQL: the builder has no advisory locks. Held to the end of the transaction.
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${aggregate.id}, 0))`.execute(trx);
  const decision = await decideAndWrite(trx, n);
  if (decision.event !== null) {
    const id = randomUUID();
    await trx
      .insertInto('outbox')
      .values({ id, aggregatetype: aggregate.type, aggregateid: aggregate.id, type: decision.event, payload: JSON.stringify(buildWalletEventPayload(id, decision.event, n, new Date())), notification_id: null })
      .execute();
  }
  return decision;
}

function decideAndWrite(trx: Trx, n: WalletNotification): Promise<WalletDecision> {
  switch (n.kind) {
    case 'payment_method':
      return writePaymentMethod(trx, n);
    case 'subscription':
      return writeSubscription(trx, n);
    case 'installment':
      return writeInstallment(trx, n);
  }
}

const key = (n: WalletNotification) => ({ provider: n.provider, shop_id: n.shopId, mode: n.mode });

async function writePaymentMethod(trx: Trx, n: PaymentMethodNotification): Promise<WalletDecision> {
  const row = await trx
    .selectFrom('payment_methods')
    .select(['status_raw', 'customer_id', 'card_brand', 'card_last4', 'card_expiry_month', 'card_expiry_year'])
    .where((eb) => eb.and({ ...key(n), token: n.token }))
    .executeTakeFirst();
  const stored = row === undefined ? null : { statusRaw: row.status_raw, customerId: row.customer_id, card: { brand: row.card_brand, last4: row.card_last4, expiryMonth: row.card_expiry_month, expiryYear: row.card_expiry_year } };
  const decision = decidePaymentMethod(stored, n);
  if (decision.outcome !== 'applied') return decision;
  const values = {
    status_raw: n.statusRaw,
    customer_id: n.customerId ?? stored?.customerId ?? null,
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
  return decision;
}

async function writeSubscription(trx: Trx, n: SubscriptionNotification): Promise<WalletDecision> {
  const stored = await trx
    .selectFrom('subscriptions')
    .select(['status_raw as statusRaw'])
    .where((eb) => eb.and({ ...key(n), subscription_id: n.subscriptionId, token: n.token }))
    .executeTakeFirst();
  const decision = decideSubscription(stored ?? null, n);
  if (decision.outcome !== 'applied') return decision;
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
  return decision;
}

async function writeInstallment(trx: Trx, n: InstallmentNotification): Promise<WalletDecision> {
  const stored = await trx
    .selectFrom('subscription_payments')
    .select(['status', 'status_raw as statusRaw'])
    .where((eb) => eb.and({ ...key(n), subscription_id: n.subscriptionId, token: n.token, recurrence_number: n.recurrenceNumber }))
    .executeTakeFirst();
  const decision = decideInstallment(stored ?? null, n);
  if (decision.outcome !== 'applied') return decision;
  const values = { transaction_id: n.transactionId, status: n.status, status_raw: n.statusRaw, amount: n.amount, currency: n.currency };
  await trx
    .insertInto('subscription_payments')
    .values({ ...key(n), subscription_id: n.subscriptionId, token: n.token, recurrence_number: n.recurrenceNumber, ...values })
    .onConflict((oc) => oc.columns(['provider', 'shop_id', 'mode', 'subscription_id', 'token', 'recurrence_number']).doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
  return decision;
}
