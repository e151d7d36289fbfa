import { currencyFromNumeric } from '../../domain/currency';
import type { Mode } from '../../domain/notification';
import type { CardSummary, InstallmentNotification, PaymentMethodNotification, SubscriptionNotification, WalletNotification } from '../../domain/wallet';
import { FieldError, optionalCount, optionalText, optionalTransactionId, requireText } from '../fields';
import { normalizeLyraStatus } from './statuses';

/**
 * The token and subscription fields of a form notification (Lyra's "Recurring payment details":
 * https://docs.lyra.com/en-EN/collect/form-payment/standard-payment/recurring-payment-details.html).
 * A token is reported with `vads_identifier` and `vads_identifier_status`; a subscription's
 * creation with `vads_subscription` and `vads_recurrence_status`; an installment of a subscription
 * with `vads_recurrence_number` (source REC, or BO for a back-office resend of one).
 */

type Fields = Readonly<Record<string, string>>;
interface Subject {
  shopId: string;
  mode: Mode;
}

/** ans..50 when the merchant chooses it, an32 when the platform does. */
const REFERENCE = /^[\x21-\x7e]{1,50}$/;

function reference(value: string | undefined, name: string): string | null {
  const text = optionalText(value, name, 50);
  if (text !== null && !REFERENCE.test(text)) throw new FieldError(`${name} is not an identifier`);
  return text;
}

/** The card a token stands for, without its number: brand, last four digits of the masked number, expiry. */
export function cardSummary(brand: unknown, maskedNumber: unknown, expiryMonth: unknown, expiryYear: unknown, names: readonly [string, string, string, string]): CardSummary {
  const pan = optionalText(maskedNumber, names[1], 32);
  const month = optionalCount(expiryMonth, names[2]);
  if (month !== null && (month < 1 || month > 12)) throw new FieldError(`${names[2]} is not a month`);
  const last4 = pan === null ? null : /(\d{4})$/.exec(pan)?.[1] ?? null;
  return { brand: optionalText(brand, names[0], 32), last4, expiryMonth: month, expiryYear: optionalCount(expiryYear, names[3]) };
}

const FORM_CARD = ['vads_card_brand', 'vads_card_number', 'vads_expiry_month', 'vads_expiry_year'] as const;

function paymentMethodOf(fields: Fields, subject: Subject): PaymentMethodNotification | null {
  const statusRaw = optionalText(fields.vads_identifier_status, 'vads_identifier_status', 32);
  if (statusRaw === null) return null;
  const token = reference(fields.vads_identifier, 'vads_identifier');
  // A token that was not created has no identifier: it is still recorded with its status.
  return {
    kind: 'payment_method',
    provider: 'lyra',
    ...subject,
    token: token ?? '',
    customerId: optionalText(fields.vads_cust_id, 'vads_cust_id', 63),
    statusRaw,
    card: cardSummary(fields.vads_card_brand, fields.vads_card_number, fields.vads_expiry_month, fields.vads_expiry_year, FORM_CARD),
  };
}

function effectDate(value: string | undefined): string | null {
  const text = optionalText(value, 'vads_sub_effect_date', 8);
  if (text === null) return null;
  if (!/^\d{8}$/.test(text)) throw new FieldError('vads_sub_effect_date is not YYYYMMDD');
  return `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
}

function currencyOf(value: string | undefined, name: string): string | null {
  const code = optionalText(value, name, 3);
  if (code === null) return null;
  const alpha = /^\d{3}$/.test(code) ? currencyFromNumeric(code) : null;
  if (alpha === null) throw new FieldError(`${name} is not an ISO 4217 numeric code`);
  return alpha;
}

/** Which subscription, charged to which token: the subject of a creation and of an installment. */
function subscriptionSubject(fields: Fields, subject: Subject) {
  return {
    provider: 'lyra' as const,
    ...subject,
    subscriptionId: requireText(reference(fields.vads_subscription, 'vads_subscription') ?? undefined, 'vads_subscription', 50),
    token: reference(fields.vads_identifier, 'vads_identifier') ?? '',
  };
}

function subscriptionOf(fields: Fields, subject: Subject): SubscriptionNotification | null {
  const statusRaw = optionalText(fields.vads_recurrence_status, 'vads_recurrence_status', 32);
  if (statusRaw === null || fields.vads_recurrence_number !== undefined) return null;
  return {
    kind: 'subscription',
    ...subscriptionSubject(fields, subject),
    customerId: optionalText(fields.vads_cust_id, 'vads_cust_id', 63),
    statusRaw,
    amount: optionalCount(fields.vads_sub_amount, 'vads_sub_amount'),
    currency: currencyOf(fields.vads_sub_currency, 'vads_sub_currency'),
    rule: optionalText(fields.vads_sub_desc, 'vads_sub_desc', 255),
    effectDate: effectDate(fields.vads_sub_effect_date),
    initialAmount: optionalCount(fields.vads_sub_init_amount, 'vads_sub_init_amount'),
    initialAmountCount: optionalCount(fields.vads_sub_init_amount_number, 'vads_sub_init_amount_number'),
    orderId: optionalText(fields.vads_order_id, 'vads_order_id', 255),
  };
}

/** An installment of a subscription, when the notification is about one; else null. */
export function lyraInstallment(fields: Fields, subject: Subject): InstallmentNotification | null {
  const recurrence = optionalCount(fields.vads_recurrence_number, 'vads_recurrence_number');
  if (recurrence === null) return null;
  const statusRaw = requireText(fields.vads_trans_status, 'vads_trans_status', 64);
  return {
    kind: 'installment',
    ...subscriptionSubject(fields, subject),
    recurrenceNumber: recurrence,
    transactionId: optionalTransactionId(fields.vads_trans_uuid, 'vads_trans_uuid'),
    status: normalizeLyraStatus(statusRaw),
    statusRaw,
    amount: optionalCount(fields.vads_amount, 'vads_amount'),
    currency: currencyOf(fields.vads_currency, 'vads_currency'),
  };
}

/** The token and the subscription a form notification reports, besides its payment. */
export function lyraFormWallet(fields: Fields, subject: Subject): WalletNotification[] {
  return [paymentMethodOf(fields, subject), subscriptionOf(fields, subject)].filter((n): n is PaymentMethodNotification | SubscriptionNotification => n !== null);
}
