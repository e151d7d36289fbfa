import { currencyFromNumeric } from '../../domain/currency';
import type { Mode, NormalizedNotification } from '../../domain/notification';
import { FieldError, requireOrderId } from '../fields';
import type { PaylineDetails } from './soap';
import { normalizePaylineResult } from './statuses';
import type { PaylineTrigger } from './trigger';

export { parsePaylineTrigger, type PaylineTrigger } from './trigger';
export { paylineRequest, parsePaylineResponse, type PaylineCall, type PaylineDetails } from './soap';
export { failoverCause, parseEndpointDirectory } from './failover';

/**
 * Why a fetched result is not for this configuration: its contract is not one of the merchant's
 * `contracts` (when they are listed). Null when it is. The result is authentic (Payline said it),
 * so it is recorded and answered 2xx, never refused: Payline would repeat the trigger every minute
 * for two hours.
 */
export function unconfiguredContract(details: PaylineDetails, merchant: { merchantId: string; contracts: readonly string[] }): string | null {
  if (merchant.contracts.length === 0 || details.contractNumber === null || merchant.contracts.includes(details.contractNumber)) return null;
  return `contract ${details.contractNumber.slice(0, 20)} is not configured for merchant ${merchant.merchantId}`;
}

/**
 * The notification a fetched result makes. Only the fetched details are trusted: the trigger
 * said where to look, Payline's authenticated answer says what happened. Each transaction of an
 * order (several tokens, several attempts) is its own, keyed by `transaction.id`.
 */
export function normalizePaylineDetails(details: PaylineDetails, trigger: PaylineTrigger, merchant: { merchantId: string }, mode: Mode): NormalizedNotification {
  const { merchantId } = merchant;
  if (details.orderRef === null) throw new FieldError(`Payline has no order for this ${trigger.kind === 'web' ? 'token' : 'transaction'} (${details.resultCode} ${details.shortMessage ?? ''})`.trim());
  const currency = details.currency === null ? null : (currencyFromNumeric(details.currency) ?? null);
  return {
    provider: 'payline',
    format: trigger.notificationType.toLowerCase(),
    shopId: merchantId,
    mode,
    orderId: requireOrderId(details.orderRef, 'order.ref'),
    transactionId: details.transactionId,
    status: normalizePaylineResult(details.resultCode, details.shortMessage, details.action),
    statusRaw: details.resultCode,
    operation: 'debit',
    operationRaw: details.action,
    amount: details.amount,
    currency,
    sequenceNumber: null,
    paymentConfig: null,
    source: trigger.notificationType,
    eventTime: null,
    // getWebPaymentDetails gives the session's final result: a refusal there ends that payment.
    failureIsFinal: true,
  };
}
