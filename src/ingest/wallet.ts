import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { buildWalletEventPayload, decideInstallment, decidePaymentMethod, decideSubscription, walletAggregate, type WalletDecision, type WalletNotification } from '../domain/wallet';
import type { DeliveryRecord } from '../store/ingest-statements';
import type { Database } from '../store/schema';
import { isPastDeadline } from '../store/sqlstate';
import { inWalletTransaction, type WalletTransaction } from '../store/wallet';
import { DeadlineExceededError } from './errors';

export interface WalletWriteOptions {
  /** The write must end before this time, or it rolls back (the caller has answered 503). */
  commitBy?: Date | null;
  /** The call's record, written in the same transaction once the decisions are known. */
  delivery?: (decisions: readonly WalletDecision[]) => DeliveryRecord;
}

/**
 * Decides and writes what a call says of tokens, subscriptions and installments, with their
 * events, in one transaction; each subject is locked before it is read, so two concurrent calls
 * about one token decide one after the other and announce it once.
 */
export async function writeWallet(db: Kysely<Database>, notifications: readonly WalletNotification[], options: WalletWriteOptions = {}): Promise<{ decisions: WalletDecision[]; deliveryId: number | null }> {
  try {
    return await inWalletTransaction(db, options.commitBy ?? null, async (tx) => {
      const decisions: WalletDecision[] = [];
      for (const n of notifications) decisions.push(await applyOne(tx, n));
      const deliveryId = options.delivery === undefined ? null : await tx.addDelivery(options.delivery(decisions));
      return { decisions, deliveryId };
    });
  } catch (error) {
    if (isPastDeadline(error)) throw new DeadlineExceededError();
    throw error;
  }
}

async function applyOne(tx: WalletTransaction, n: WalletNotification): Promise<WalletDecision> {
  const aggregate = walletAggregate(n);
  await tx.lock(aggregate.id);
  const decision = await decideAndSave(tx, n);
  if (decision.event !== null) {
    const id = randomUUID();
    await tx.addEvent({ id, aggregatetype: aggregate.type, aggregateid: aggregate.id, type: decision.event, payload: JSON.stringify(buildWalletEventPayload(id, decision.event, n, new Date())) });
  }
  return decision;
}

/** Reads the subject as stored, decides, and saves it when the decision applies. */
async function decideAndSave(tx: WalletTransaction, n: WalletNotification): Promise<WalletDecision> {
  switch (n.kind) {
    case 'payment_method': {
      const stored = await tx.readPaymentMethod(n);
      const decision = decidePaymentMethod(stored, n);
      if (decision.outcome === 'applied') await tx.savePaymentMethod(n, n.customerId ?? stored?.customerId ?? null);
      return decision;
    }
    case 'subscription': {
      const decision = decideSubscription(await tx.readSubscription(n), n);
      if (decision.outcome === 'applied') await tx.saveSubscription(n);
      return decision;
    }
    case 'installment': {
      const decision = decideInstallment(await tx.readInstallment(n), n);
      if (decision.outcome === 'applied') await tx.saveInstallment(n);
      return decision;
    }
  }
}
