import { selectByParameter } from '../lib/select-by-parameter';
import { FieldError } from '../providers/fields';
import { normalizePaylineDetails, parsePaylineTrigger, paylineRequest, unconfiguredContract, type PaylineTrigger } from '../providers/payline';
import { notApplied, reject, type ProviderRequest, type ProviderResult } from '../providers/types';
import { WindowBudget } from '../lib/window-budget';
import type { PaylineMerchant } from '../providers/payline/config';
import { PaylineApi, PaylineUnavailableError } from './payline-api';
import { PaylineFetchGuard } from './payline-guard';

/** The URL parameter of `notificationURL` that says which merchant a call is for, when there are several. */
export const MERCHANT_PARAMETER = 'merchant';

export interface PaylineReceiver {
  merchants: ReadonlyMap<string, { merchant: PaylineMerchant; api: PaylineApi }>;
  /** The part of the reply deadline the fetch may take in the request; the rest is for recording. */
  inRequestBudgetMs: number;
  /** Keeps forged triggers from making the service call Payline without bound. */
  guard: PaylineFetchGuard;
  // The deferred fetches (payline-fetcher.ts) share the merchants' clients and use neither the
  // budget (each attempt has its own timeout) nor the guard (a schedule, not a caller).
}

export function paylineReceiver(merchants: readonly PaylineMerchant[], connectTimeoutMs: number, inRequestBudgetMs: number, guard = new PaylineFetchGuard(new WindowBudget(Infinity, Infinity))): PaylineReceiver {
  return { merchants: new Map(merchants.map((merchant) => [merchant.merchantId, { merchant, api: new PaylineApi(merchant, { connectTimeoutMs }) }])), inRequestBudgetMs, guard };
}

type Selected = { merchant: PaylineMerchant; api: PaylineApi };
type Resolved = { trigger: Exclude<PaylineTrigger, { kind: 'other' }>; selected: Selected };

/** The trigger and the merchant it is for; or the answer when there is nothing to fetch. */
function resolve(query: string, receiver: PaylineReceiver): Resolved | ProviderResult {
  let trigger: PaylineTrigger;
  try {
    trigger = parsePaylineTrigger(query);
  } catch (error) {
    if (error instanceof FieldError) return reject('malformed', error.message);
    throw error;
  }
  const selected = selectByParameter(query, MERCHANT_PARAMETER, receiver.merchants, { noun: 'Payline merchant', placeholder: '<merchant id>', url: 'notificationURL' });
  if (typeof selected === 'string') return reject('unknown_shop', selected);
  if (trigger.kind === 'other') return notApplied(`notification type ${trigger.notificationType} does not change an order`, 'not_for_orders');
  return { trigger, selected };
}

async function fetchResolved({ trigger, selected }: Resolved, signal: AbortSignal): Promise<ProviderResult> {
  try {
    const fetched = await selected.api.fetchDetails(paylineRequest(trigger), signal);
    const fetchedFrom = [...fetched.failedOver.map((f) => `failed: ${f}`), `answered: ${fetched.endpoint}`].join('; ');
    // A payment Payline vouches for, under a contract the configuration does not list: recorded,
    // counted and replayable once `contracts` is fixed.
    const unconfigured = unconfiguredContract(fetched.details, selected.merchant);
    if (unconfigured !== null) return { ...notApplied(unconfigured, 'unconfigured'), fetchedFrom };
    const mode = selected.merchant.environment === 'production' ? 'PRODUCTION' : 'TEST';
    return { ok: true, notifications: [normalizePaylineDetails(fetched.details, trigger, selected.merchant, mode)], fetchedFrom };
  } catch (error) {
    if (error instanceof PaylineUnavailableError) return reject('unavailable', error.message);
    // Payline vouches for nothing: an unknown token, an unreadable answer, a SOAP fault.
    if (error instanceof FieldError) return reject('malformed', error.message);
    throw error;
  }
}

/**
 * Fetches and normalizes the result a notification points at. `unavailable` when no Payline
 * endpoint answered in time.
 */
export async function fetchPaylineResult(query: string, receiver: PaylineReceiver, signal: AbortSignal): Promise<ProviderResult> {
  const resolved = resolve(query, receiver);
  return 'trigger' in resolved ? fetchResolved(resolved, signal) : resolved;
}

const triggerKeyOf = (trigger: Resolved['trigger']): string => `${trigger.notificationType}:${trigger.kind === 'web' ? trigger.token : trigger.transactionId}`;

/**
 * A Payline notification is an unsigned trigger: the result is fetched from Payline's
 * authenticated web services (with source failover) and only that answer is believed. The fetch
 * gets part of the reply deadline; when Payline does not answer within it, the notification is
 * recorded with a durable fetch to run later and answered 2xx, so nothing depends on Payline
 * repeating it (it stops after two hours).
 */
export async function handlePaylineNotification(request: ProviderRequest, receiver: PaylineReceiver): Promise<ProviderResult> {
  const resolved = resolve(request.query, receiver);
  if (!('trigger' in resolved)) return resolved;
  const key = `${resolved.selected.merchant.merchantId}|${triggerKeyOf(resolved.trigger)}`;
  // A refusal of the guard asked Payline nothing, so it is never deferred: Payline repeats the trigger.
  return receiver.guard.run(key, request.source, () => fetchOrDefer(resolved, request, receiver));
}

/** The fetch within the in-request budget; when Payline does not answer in it, a fetch to run later. */
async function fetchOrDefer(resolved: Resolved, request: ProviderRequest, receiver: PaylineReceiver): Promise<ProviderResult> {
  const budget = AbortSignal.timeout(receiver.inRequestBudgetMs);
  const result = await fetchResolved(resolved, request.signal === undefined ? budget : AbortSignal.any([request.signal, budget]));
  if (result.ok || result.rejection.verdict !== 'unavailable' || request.signal?.aborted === true) return result;
  const deferred = { merchantId: resolved.selected.merchant.merchantId, triggerKey: triggerKeyOf(resolved.trigger), rawQuery: request.query };
  return { ok: true, notifications: [], ignored: result.rejection.reason, deferred };
}
