import { FieldError } from '../providers/lyra/fields';
import { normalizePaylineDetails, parsePaylineTrigger, paylineRequest, type PaylineTrigger } from '../providers/payline';
import { reject, type ProviderRequest, type ProviderResult } from '../providers/types';
import { PaylineApi, PaylineUnavailableError, type PaylineMerchant } from './payline-api';

/** The URL parameter of `notificationURL` that says which merchant a call is for, when there are several. */
export const MERCHANT_PARAMETER = 'merchant';

export interface PaylineReceiver {
  merchants: ReadonlyMap<string, { merchant: PaylineMerchant; api: PaylineApi }>;
}

export function paylineReceiver(merchants: readonly PaylineMerchant[], connectTimeoutMs: number): PaylineReceiver {
  return { merchants: new Map(merchants.map((merchant) => [merchant.merchantId, { merchant, api: new PaylineApi(merchant, { connectTimeoutMs }) }])) };
}

function selectMerchant(query: string, receiver: PaylineReceiver) {
  const requested = new URLSearchParams(query).get(MERCHANT_PARAMETER);
  if (requested !== null) return receiver.merchants.get(requested) ?? `unknown Payline merchant ${requested.slice(0, 40)}`;
  if (receiver.merchants.size === 1) return receiver.merchants.values().next().value as { merchant: PaylineMerchant; api: PaylineApi };
  return `several Payline merchants are configured: add ${MERCHANT_PARAMETER}=<merchant id> to notificationURL`;
}

/**
 * A Payline notification is an unsigned trigger: the result is fetched from Payline's
 * authenticated web services (with source failover) within the reply deadline, and only that
 * answer is believed. When Payline cannot be reached, the reply is 503 and nothing is applied:
 * Payline sends the notification again every minute for two hours.
 */
export async function handlePaylineNotification(request: ProviderRequest, receiver: PaylineReceiver): Promise<ProviderResult> {
  let trigger: PaylineTrigger;
  try {
    trigger = parsePaylineTrigger(request.query);
  } catch (error) {
    if (error instanceof FieldError) return reject('malformed', error.message);
    throw error;
  }
  const selected = selectMerchant(request.query, receiver);
  if (typeof selected === 'string') return reject('unknown_shop', selected);
  if (trigger.kind === 'other') return { ok: true, notifications: [], ignored: `notification type ${trigger.notificationType} does not change an order` };

  const signal = request.signal ?? AbortSignal.timeout(10_000);
  try {
    const fetched = await selected.api.fetchDetails(paylineRequest(trigger), signal);
    const mode = selected.merchant.environment === 'production' ? 'PRODUCTION' : 'TEST';
    const notification = normalizePaylineDetails(fetched.details, trigger, selected.merchant, mode);
    const fetchedFrom = [...fetched.failedOver.map((f) => `failed: ${f}`), `answered: ${fetched.endpoint}`].join('; ');
    return { ok: true, notifications: [notification], fetchedFrom };
  } catch (error) {
    if (error instanceof PaylineUnavailableError) return reject('unavailable', error.message);
    if (error instanceof FieldError) return reject('malformed', error.message);
    throw error;
  }
}
