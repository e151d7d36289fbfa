import { createHash, randomBytes } from 'node:crypto';
import { numericFromCurrency } from '../domain/currency';
import type { LyraFormAlgorithm } from '../providers/lyra';
import { computeLyraFormSignature, computeLyraRestHash } from '../providers/lyra/signature';

/**
 * Builds notifications exactly as the Lyra platform sends them, signed: for the simulator,
 * the tests and the benchmark. Only the platform side of the protocol lives here.
 */
export interface LyraNotificationOptions {
  shopId: string;
  mode?: 'TEST' | 'PRODUCTION';
  orderId: string;
  status: string;
  /** Defaults to a uuid derived from shop, mode, order, sequence and operation: a resend reuses it. */
  transactionUuid?: string | null;
  amount?: number;
  currency?: string;
  sequenceNumber?: number;
  operation?: 'DEBIT' | 'CREDIT' | 'VERIFICATION';
  paymentConfig?: string;
  /** `vads_url_check_src`: PAY, BO, RETRY, BATCH_AUTO… */
  source?: string;
  /** Imitate a back-office resend: source BO, fields the platform does not keep left out. */
  resend?: boolean;
  /** REST only: CLOSED (default) or OPEN. */
  orderCycle?: 'CLOSED' | 'OPEN';
  extraFields?: Record<string, string>;
  /** Form only: a token (alias) or subscription request, or an installment of a subscription. */
  wallet?: LyraWalletOptions;
}

export type LyraPageAction = 'PAYMENT' | 'REGISTER' | 'REGISTER_UPDATE' | 'REGISTER_PAY' | 'REGISTER_SUBSCRIBE' | 'REGISTER_PAY_SUBSCRIBE';

export interface LyraWalletOptions {
  /** `vads_page_action`: REGISTER* creates or updates a token (and a subscription with SUBSCRIBE). */
  pageAction?: LyraPageAction;
  /** `vads_identifier` (default derived from the shop and customer). */
  token?: string;
  /** `vads_identifier_status` (default CREATED, UPDATED for REGISTER_UPDATE). */
  tokenStatus?: string;
  /** `vads_cust_id`. */
  customerId?: string;
  /** `vads_subscription`: with SUBSCRIBE, the subscription created; with `recurrence`, the one paid. */
  subscription?: string;
  /** `vads_recurrence_number`: an installment of `subscription` (source REC). */
  recurrence?: number;
  /** No transaction in the notification: a token request without payment nor card verification. */
  withoutTransaction?: boolean;
}

const TRANSACTION_FIELDS = ['vads_trans_status', 'vads_trans_uuid', 'vads_trans_id', 'vads_auth_number', 'vads_auth_result', 'vads_operation_type', 'vads_sequence_number', 'vads_effective_amount'];

/** The fields the platform adds for a token or subscription request, or for an installment. */
function walletFields(w: LyraWalletOptions, o: LyraNotificationOptions): Record<string, string> {
  const action = w.pageAction ?? (w.recurrence === undefined ? 'REGISTER' : 'PAYMENT');
  const fields: Record<string, string> = { vads_page_action: action };
  const token = w.token ?? createHash('sha256').update(`${o.shopId}|${w.customerId ?? 'C-1'}`).digest('hex').slice(0, 32);
  if (w.customerId !== undefined) fields.vads_cust_id = w.customerId;
  if (action.startsWith('REGISTER')) {
    fields.vads_identifier = token;
    fields.vads_identifier_status = w.tokenStatus ?? (action === 'REGISTER_UPDATE' ? 'UPDATED' : 'CREATED');
  }
  if (action.endsWith('SUBSCRIBE')) {
    Object.assign(fields, {
      vads_subscription: w.subscription ?? `SUB-${o.orderId}`,
      vads_recurrence_status: 'CREATED',
      vads_sub_amount: String(o.amount ?? 4990),
      vads_sub_currency: numericFromCurrency(o.currency ?? 'EUR') ?? '978',
      vads_sub_desc: 'RRULE:FREQ=MONTHLY;BYMONTHDAY=1',
      vads_sub_effect_date: '20270101',
    });
  }
  if (w.recurrence !== undefined) {
    Object.assign(fields, { vads_identifier: token, vads_subscription: w.subscription ?? 'SUB-1', vads_recurrence_number: String(w.recurrence) });
    if (o.source === undefined && o.resend !== true) fields.vads_url_check_src = 'REC';
  }
  return fields;
}

export function defaultTransactionUuid(o: LyraNotificationOptions): string {
  const seed = [o.shopId, o.mode ?? 'TEST', o.orderId, o.sequenceNumber ?? 1, o.operation ?? 'DEBIT', ...(o.wallet?.recurrence === undefined ? [] : [o.wallet.recurrence])].join('|');
  return createHash('sha256').update(seed).digest('hex').slice(0, 32);
}

function transId(uuid: string): string {
  return String(parseInt(uuid.slice(0, 8), 16) % 900000).padStart(6, '0');
}

function lyraDate(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The `vads_*` fields of a form notification, unsigned; a new `vads_hash` on each call. */
export function lyraFormFields(o: LyraNotificationOptions, now = new Date()): Record<string, string> {
  const uuid = o.transactionUuid === undefined ? defaultTransactionUuid(o) : o.transactionUuid;
  const amount = String(o.amount ?? 4990);
  const currency = numericFromCurrency(o.currency ?? 'EUR') ?? o.currency ?? '978';
  const status = o.status;
  const success = status === 'AUTHORISED' || status === 'CAPTURED';
  const fields: Record<string, string> = {
    vads_action_mode: 'INTERACTIVE',
    vads_amount: amount,
    vads_auth_mode: 'FULL',
    vads_auth_number: success ? '3fe04e' : '',
    vads_auth_result: success ? '00' : status === 'REFUSED' ? '05' : '',
    vads_capture_delay: '0',
    vads_card_brand: 'CB',
    vads_card_number: '497010XXXXXX0055',
    vads_contract_used: '5785350',
    vads_ctx_mode: o.mode ?? 'TEST',
    vads_currency: currency,
    vads_cust_email: 'buyer@example.com',
    vads_cust_first_name: 'Zoé',
    vads_cust_last_name: "L'Hôpital",
    vads_effective_amount: amount,
    vads_effective_creation_date: lyraDate(now),
    vads_effective_currency: currency,
    vads_expiry_month: '6',
    vads_expiry_year: String(now.getUTCFullYear() + 3),
    vads_extra_result: '',
    vads_hash: randomBytes(32).toString('hex'),
    vads_language: 'fr',
    vads_operation_type: o.operation ?? 'DEBIT',
    vads_order_id: o.orderId,
    vads_page_action: 'PAYMENT',
    vads_payment_config: o.paymentConfig ?? 'SINGLE',
    vads_payment_src: 'EC',
    vads_result: success ? '00' : status === 'REFUSED' ? '05' : '00',
    vads_sequence_number: String(o.sequenceNumber ?? 1),
    vads_site_id: o.shopId,
    vads_threeds_cavv: 'Q2F2dkZvclRlc3RPbmx5KzEyMzQ1Ng==',
    vads_trans_date: lyraDate(now),
    vads_trans_id: transId(uuid ?? randomBytes(4).toString('hex')),
    vads_trans_status: status,
    vads_url_check_src: o.resend === true ? 'BO' : (o.source ?? 'PAY'),
    vads_version: 'V2',
    vads_warranty_result: 'YES',
    ...o.extraFields,
  };
  if (uuid !== null) fields.vads_trans_uuid = uuid;
  if (o.wallet !== undefined) {
    // Extra fields still win: a test may give any of them another value.
    Object.assign(fields, walletFields(o.wallet, o), o.extraFields);
    if (o.wallet.withoutTransaction === true) for (const name of TRANSACTION_FIELDS) delete fields[name];
  }
  if (o.resend === true) {
    // Not kept for back-office resends: https://lyra.com/en/doc/collect/form-payment/standard-payment/manual-notification-retry.html
    delete fields.vads_page_action;
    delete fields.vads_payment_config;
    delete fields.vads_action_mode;
  }
  return fields;
}

export function signLyraForm(fields: Record<string, string>, key: string, algorithm: LyraFormAlgorithm = 'HMAC-SHA-256'): Record<string, string> {
  return { ...fields, signature: computeLyraFormSignature(fields, key, algorithm) };
}

export function encodeForm(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** A signed form notification body, ready to POST. */
export function lyraFormBody(o: LyraNotificationOptions, key: string, algorithm: LyraFormAlgorithm = 'HMAC-SHA-256'): string {
  return encodeForm(signLyraForm(lyraFormFields(o), key, algorithm));
}

/** A `V4/Payment` answer with one transaction (or none for ABANDONED), as the REST API sends it. */
export function lyraRestAnswer(o: LyraNotificationOptions, now = new Date()): Record<string, unknown> {
  const uuid = o.transactionUuid === undefined ? defaultTransactionUuid(o) : o.transactionUuid;
  const amount = o.amount ?? 4990;
  const currency = o.currency ?? 'EUR';
  const success = ['AUTHORISED', 'CAPTURED', 'ACCEPTED', 'PARTIALLY_AUTHORISED'].includes(o.status);
  const orderStatus = success ? 'PAID' : o.status === 'ABANDONED' ? 'ABANDONED' : ['AUTHORISED_TO_VALIDATE', 'WAITING_AUTHORISATION', 'INITIAL'].includes(o.status) ? 'RUNNING' : 'UNPAID';
  return {
    shopId: o.shopId,
    orderCycle: o.orderCycle ?? 'CLOSED',
    orderStatus,
    serverDate: now.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    orderDetails: { orderTotalAmount: amount, orderCurrency: currency, mode: o.mode ?? 'TEST', orderId: o.orderId, _type: 'V4/OrderDetails' },
    customer: { email: 'buyer@example.com', reference: null, _type: 'V4/Customer/Customer' },
    transactions:
      uuid === null
        ? []
        : [
            {
              shopId: o.shopId,
              uuid,
              amount,
              currency,
              paymentMethodType: 'CARD',
              status: orderStatus,
              detailedStatus: o.status,
              operationType: o.operation ?? 'DEBIT',
              creationDate: now.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
              errorCode: null,
              transactionDetails: { sequenceNumber: o.sequenceNumber ?? 1, cardDetails: { pan: '497010XXXXXX0055', effectiveBrand: 'CB' }, _type: 'V4/TransactionDetails' },
              _type: 'V4/PaymentTransaction',
            },
          ],
    _type: 'V4/Payment',
  };
}

/** The POST fields of a REST notification: `kr-answer` is hashed exactly as sent. */
export function lyraRestFields(krAnswer: string, password: string, source?: string): Record<string, string> {
  const fields: Record<string, string> = {
    'kr-hash': computeLyraRestHash(krAnswer, password),
    'kr-hash-algorithm': 'sha256_hmac',
    'kr-hash-key': 'password',
    'kr-answer-type': 'V4/Payment',
    'kr-answer': krAnswer,
  };
  if (source !== undefined) fields['kr-src'] = source;
  return fields;
}

export function lyraRestBody(o: LyraNotificationOptions, password: string): string {
  return encodeForm(lyraRestFields(JSON.stringify(lyraRestAnswer(o)), password, o.resend === true ? 'BO' : o.source));
}
