import { currencyFromNumeric } from '../../domain/currency';
import type { NormalizedNotification } from '../../domain/notification';
import { notApplied, reject, type ProviderResult } from '../types';
import { FieldError, optionalCount, optionalText, optionalTransactionId, requireOrderId, requireText } from '../fields';
import { formKeyFor, isMode, type LyraShops } from './shops';
import { verifyLyraFormSignature, type LyraCryptoProvider } from './signature';
import { isOrderLevelStatus, normalizeLyraOperation, normalizeLyraStatus } from './statuses';
import { lyraFormWallet, lyraInstallment } from './wallet';

/** Form API (V2) notification: `vads_*` fields plus `signature`. */
export function handleLyraForm(fields: Readonly<Record<string, string>>, shops: LyraShops, crypto?: LyraCryptoProvider): ProviderResult {
  // vads_hash is sent only to the notification URL: without it this is a browser return.
  if (fields.vads_hash === undefined) return reject('malformed', 'vads_hash missing: not a notification (browser return?)');
  const shopId = fields.vads_site_id;
  if (shopId === undefined || shopId === '') return reject('malformed', 'vads_site_id missing');
  const signature = fields.signature;
  if (signature === undefined || signature === '') return reject('bad_signature', 'signature missing');
  const shop = shops.get(shopId);
  if (shop === undefined) return reject('unknown_shop', `unknown shop ${shopId}`);
  const mode = fields.vads_ctx_mode;
  if (!isMode(mode)) return reject('bad_signature', 'vads_ctx_mode must be TEST or PRODUCTION');
  const key = formKeyFor(shop, mode);
  if (key === undefined) return reject('bad_signature', `no ${mode} key configured for shop ${shopId}`);
  const check = verifyLyraFormSignature(fields, signature, key, shop.algorithm, crypto);
  if (!check.ok) return reject('bad_signature', check.reason);

  try {
    return normalizeLyraFormCall(fields, shopId, mode);
  } catch (error) {
    // Authentic: a field the service cannot read is recorded, not refused.
    if (error instanceof FieldError) return notApplied(error.message, 'unrecognized');
    throw error;
  }
}

/**
 * A form notification reports a payment of an order, a token or a subscription being created,
 * or an installment of a subscription, and sometimes several of these at once (REGISTER_PAY,
 * REGISTER_PAY_SUBSCRIBE). An installment is a payment of its subscription, never of an order; a
 * token created with a card verification and no order id has no payment to record.
 */
function normalizeLyraFormCall(fields: Readonly<Record<string, string>>, shopId: string, mode: 'TEST' | 'PRODUCTION'): ProviderResult {
  const subject = { shopId, mode };
  const installment = lyraInstallment(fields, subject);
  const wallet = [...lyraFormWallet(fields, subject), ...(installment === null ? [] : [installment])];
  const verificationOnly = fields.vads_operation_type === 'VERIFICATION' && (fields.vads_order_id ?? '') === '';
  const hasPayment = installment === null && (wallet.length === 0 || (fields.vads_trans_status !== undefined && !verificationOnly));
  return { ok: true, notifications: hasPayment ? [normalizeLyraForm(fields, shopId, mode)] : [], ...(wallet.length > 0 ? { wallet } : {}) };
}

function normalizeLyraForm(fields: Readonly<Record<string, string>>, shopId: string, mode: 'TEST' | 'PRODUCTION'): NormalizedNotification {
  const statusRaw = requireText(fields.vads_trans_status, 'vads_trans_status', 64);
  const status = normalizeLyraStatus(statusRaw);
  const transactionId = optionalTransactionId(fields.vads_trans_uuid, 'vads_trans_uuid');
  if (transactionId === null && !isOrderLevelStatus(status)) throw new FieldError('vads_trans_uuid is missing');
  const operationRaw = optionalText(fields.vads_operation_type, 'vads_operation_type', 32);
  const currencyCode = optionalText(fields.vads_currency, 'vads_currency', 3);
  if (currencyCode !== null && !/^\d{3}$/.test(currencyCode)) throw new FieldError('vads_currency is not an ISO 4217 numeric code');
  return {
    provider: 'lyra',
    format: 'form',
    shopId,
    mode,
    orderId: requireOrderId(fields.vads_order_id, 'vads_order_id'),
    transactionId,
    status,
    statusRaw,
    operation: normalizeLyraOperation(operationRaw),
    operationRaw,
    amount: optionalCount(fields.vads_amount, 'vads_amount'),
    currency: currencyCode === null ? null : currencyFromNumeric(currencyCode),
    sequenceNumber: optionalCount(fields.vads_sequence_number, 'vads_sequence_number'),
    paymentConfig: optionalText(fields.vads_payment_config, 'vads_payment_config', 512),
    source: optionalText(fields.vads_url_check_src, 'vads_url_check_src', 32),
    eventTime: null,
    // The form API notifies each attempt's final result; a later success still pays the order.
    failureIsFinal: true,
  };
}
