/**
 * The provider-independent shape every notification is normalized to. Nothing outside a
 * provider module knows a provider's field names; everything after normalization works on this.
 */

export type Provider = 'lyra' | 'paybox' | 'stripe' | 'payline';
export type Mode = 'TEST' | 'PRODUCTION';
export type Operation = 'debit' | 'refund' | 'verification' | 'unknown';

/** Transaction status, normalized. `unknown` is recorded but never applied. */
export const TRANSACTION_STATUSES = [
  'pending',
  'authorised',
  'captured',
  'accepted',
  'refused',
  'capture_failed',
  'expired',
  'cancelled',
  'abandoned',
  'unknown',
] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

export interface NormalizedNotification {
  provider: Provider;
  /** Wire format within the provider (Lyra: `form` for vads_*, `rest` for kr-answer). */
  format: string;
  shopId: string;
  mode: Mode;
  orderId: string;
  /** Provider's unique transaction reference; null for order-level events such as ABANDONED. */
  transactionId: string | null;
  status: TransactionStatus;
  statusRaw: string;
  operation: Operation;
  operationRaw: string | null;
  /** Integer minor units (cents). */
  amount: number | null;
  /** ISO 4217 alpha-3. */
  currency: string | null;
  sequenceNumber: number | null;
  /** Payment schedule as sent by the provider (Lyra `SINGLE`, `MULTI:first=…`), when given. */
  paymentConfig: string | null;
  /** Who triggered the call (Lyra `vads_url_check_src` / `kr-src`: PAY, BO, RETRY, BATCH_AUTO…). */
  source: string | null;
  eventTime: string | null;
  /**
   * Whether a failure ends the payment cycle. Lyra REST says so with `orderCycle: CLOSED`;
   * an OPEN cycle means the buyer may still make another attempt.
   */
  failureIsFinal: boolean;
  /** Paybox's call number T (NUMAPPEL): with the transaction number, what Paybox Direct is asked by. */
  callNumber?: string;
  /**
   * The provider's own id of the event, when it has one (Stripe `evt_…`): its redeliveries share
   * it, and two events never do, so it is the notification's identity.
   */
  eventId?: string;
  /**
   * For a refund that does not name its order: the payment it refunds. The store finds the order
   * through that payment's transaction.
   */
  paymentOf?: string | null;
}

export type OrderStatus = 'PENDING' | 'PAID' | 'FAILED' | 'CANCELLED' | 'REFUNDED';

/** Whether the installment schedule of a payment config has several payments. */
export function isInstallmentConfig(paymentConfig: string | null): boolean {
  return paymentConfig !== null && paymentConfig.startsWith('MULTI');
}
