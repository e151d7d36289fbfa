import { isKnownCurrency } from '../../domain/currency';
import type { Mode, NormalizedNotification } from '../../domain/notification';
import { notApplied, reject, type ProviderResult } from '../types';
import { FieldError, optionalCount, optionalText, optionalTransactionId, requireOrderId, requireText } from '../fields';
import { isMode, restPasswordFor, type LyraShops } from './shops';
import { verifyLyraRestHash, type LyraCryptoProvider } from './signature';
import { normalizeLyraOperation, normalizeLyraStatus } from './statuses';
import { cardSummary } from './wallet';
import type { PaymentMethodNotification } from '../../domain/wallet';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * REST API / embedded form notification: `kr-answer` (JSON text) signed by `kr-hash`, the hex
 * HMAC-SHA-256 of that exact text keyed with the shop's REST password. The JSON is parsed
 * only to find the shop and mode; the hash is always computed over the received string.
 */
export function handleLyraRest(fields: Readonly<Record<string, string>>, shops: LyraShops, crypto?: LyraCryptoProvider): ProviderResult {
  const krAnswer = fields['kr-answer'];
  if (krAnswer === undefined || krAnswer === '') return reject('malformed', 'kr-answer missing');
  const krHash = fields['kr-hash'];
  if (krHash === undefined || krHash === '') return reject('bad_signature', 'kr-hash missing');
  if (fields['kr-hash-algorithm'] !== 'sha256_hmac') return reject('bad_signature', 'kr-hash-algorithm must be sha256_hmac');
  const hashKey = fields['kr-hash-key'];
  if (hashKey !== 'password') {
    return reject('bad_signature', hashKey === 'sha256_hmac' ? 'kr-hash-key sha256_hmac signs a browser return, not a notification' : 'kr-hash-key must be password');
  }
  let answer: unknown;
  try {
    answer = JSON.parse(krAnswer);
  } catch {
    return reject('malformed', 'kr-answer is not valid JSON');
  }
  if (!isObject(answer)) return reject('malformed', 'kr-answer is not a JSON object');
  const shopId = answer.shopId;
  if (typeof shopId !== 'string' || shopId === '') return reject('malformed', 'kr-answer shopId missing');
  const shop = shops.get(shopId);
  if (shop === undefined) return reject('unknown_shop', `unknown shop ${shopId.slice(0, 32)}`);
  const orderDetails = isObject(answer.orderDetails) ? answer.orderDetails : {};
  const mode = orderDetails.mode;
  if (!isMode(mode)) return reject('bad_signature', 'orderDetails.mode must be TEST or PRODUCTION');
  const password = restPasswordFor(shop, mode);
  if (password === undefined) return reject('bad_signature', `no ${mode} REST password configured for shop ${shopId}`);
  const check = verifyLyraRestHash(krAnswer, krHash, password, crypto);
  if (!check.ok) return reject('bad_signature', check.reason);

  try {
    const notifications = normalizeLyraRest(answer, orderDetails, shopId, mode, fields['kr-src'] ?? null);
    const wallet = lyraRestPaymentMethods(answer, shopId, mode);
    return { ok: true, notifications, ...(wallet.length > 0 ? { wallet } : {}) };
  } catch (error) {
    // Authentic: a field the service cannot read is recorded, not refused.
    if (error instanceof FieldError) return notApplied(error.message, 'unrecognized');
    throw error;
  }
}

const REST_CARD = ['cardDetails.effectiveBrand', 'cardDetails.pan', 'cardDetails.expiryMonth', 'cardDetails.expiryYear'] as const;

/**
 * The tokens a REST answer returns (`transactions[].paymentMethodToken`, on a successful payment
 * or card verification): the buyer's card saved for later charges, for the customer of
 * `customer.reference`. A refused attempt saves nothing.
 */
function lyraRestPaymentMethods(answer: Json, shopId: string, mode: Mode): PaymentMethodNotification[] {
  const customer = isObject(answer.customer) ? answer.customer : {};
  const transactions = Array.isArray(answer.transactions) ? answer.transactions : [];
  return transactions.filter(isObject).flatMap((tx): PaymentMethodNotification[] => {
    const token = optionalText(tx.paymentMethodToken, 'paymentMethodToken', 64);
    if (token === null || !isSuccessStatus(tx.detailedStatus)) return [];
    const details = isObject(tx.transactionDetails) ? tx.transactionDetails : {};
    const card = isObject(details.cardDetails) ? details.cardDetails : {};
    return [{
      kind: 'payment_method',
      provider: 'lyra',
      shopId,
      mode,
      token,
      customerId: optionalText(customer.reference, 'customer.reference', 63),
      statusRaw: 'RETURNED',
      card: cardSummary(card.effectiveBrand, card.pan, card.expiryMonth, card.expiryYear, REST_CARD),
    }];
  });
}

const isSuccessStatus = (detailed: unknown): boolean => typeof detailed === 'string' && ['authorised', 'captured', 'accepted'].includes(normalizeLyraStatus(detailed));

/** `V4/Payment` and the older `V3.1/IPNRequest` share these fields; `kr-answer-type` is only logged. */
function normalizeLyraRest(answer: Json, orderDetails: Json, shopId: string, mode: Mode, krSrc: string | null): NormalizedNotification[] {
  const base = {
    provider: 'lyra' as const,
    format: 'rest',
    shopId,
    mode,
    orderId: requireOrderId(orderDetails.orderId, 'orderDetails.orderId'),
    source: optionalText(krSrc, 'kr-src', 32),
    eventTime: typeof answer.serverDate === 'string' && !Number.isNaN(Date.parse(answer.serverDate)) ? answer.serverDate : null,
    // OPEN: the buyer may still make another attempt, so a refusal does not fail the order.
    failureIsFinal: answer.orderCycle === 'CLOSED',
    paymentConfig: null,
  };
  const transactions = answer.transactions ?? [];
  if (!Array.isArray(transactions)) throw new FieldError('transactions is not an array');
  if (transactions.length === 0) {
    // No transaction was created (ABANDONED): an order-level event.
    const statusRaw = requireText(answer.orderStatus, 'orderStatus', 64);
    return [{ ...base, transactionId: null, status: normalizeLyraStatus(statusRaw), statusRaw, operation: 'debit', operationRaw: null, amount: null, currency: null, sequenceNumber: null }];
  }
  return transactions.map((tx: unknown, index) => restTransaction(tx, `transactions[${index}]`, base));
}

type TransactionBase = Omit<NormalizedNotification, 'transactionId' | 'status' | 'statusRaw' | 'operation' | 'operationRaw' | 'amount' | 'currency' | 'sequenceNumber'>;

/** One transaction: the IPN's `V4/PaymentTransaction` and `Order/Get`'s `V4/Transaction` carry the same fields. */
function restTransaction(tx: unknown, name: string, base: TransactionBase): NormalizedNotification {
  if (!isObject(tx)) throw new FieldError(`${name} is not an object`);
  const details = isObject(tx.transactionDetails) ? tx.transactionDetails : {};
  const statusRaw = requireText(tx.detailedStatus, `${name}.detailedStatus`, 64);
  const operationRaw = optionalText(tx.operationType, `${name}.operationType`, 32);
  const currency = optionalText(tx.currency, `${name}.currency`, 3);
  if (currency !== null && !isKnownCurrency(currency)) throw new FieldError(`${name}.currency is not an ISO 4217 code`);
  const transactionId = optionalTransactionId(tx.uuid, `${name}.uuid`);
  if (transactionId === null) throw new FieldError(`${name}.uuid is missing`);
  return {
    ...base,
    transactionId,
    status: normalizeLyraStatus(statusRaw),
    statusRaw,
    operation: normalizeLyraOperation(operationRaw),
    operationRaw,
    amount: optionalCount(tx.amount, `${name}.amount`),
    currency,
    sequenceNumber: optionalCount(details.sequenceNumber, `${name}.transactionDetails.sequenceNumber`),
  };
}

/**
 * The answer of the REST API's `Order/Get` (`V4/OrderTransactions`): every transaction of the
 * order as a notification, read as the IPN's are. It has no `orderCycle`: a refusal does not fail
 * the order by itself (the IPN's `CLOSED` cycle does). Pure: the caller asked and verified the
 * host (outbound/lyra-api.ts).
 */
export function normalizeLyraOrderTransactions(answer: unknown, shopId: string, mode: Mode, orderId: string): NormalizedNotification[] {
  if (!isObject(answer)) throw new FieldError('the answer is not a JSON object');
  if (answer.orderId !== orderId) throw new FieldError(`the answer is for order ${String(answer.orderId).slice(0, 64)}, not ${orderId}`);
  const transactions = answer.transactions ?? [];
  if (!Array.isArray(transactions)) throw new FieldError('transactions is not an array');
  const base: TransactionBase = { provider: 'lyra', format: 'rest', shopId, mode, orderId, source: 'API', eventTime: null, failureIsFinal: false, paymentConfig: null };
  return transactions.map((tx: unknown, index) => {
    const name = `transactions[${index}]`;
    const details = isObject(tx) && isObject(tx.orderDetails) ? tx.orderDetails : {};
    if (details.mode !== undefined && details.mode !== mode) throw new FieldError(`${name}.orderDetails.mode is ${JSON.stringify(details.mode).slice(0, 16)}, not ${mode}`);
    return restTransaction(tx, name, base);
  });
}
