import type { Config } from '../config';
import type { Provider } from '../domain/notification';
import { createAllowlist } from '../lib/cidr';
import { handleLyraNotification } from '../providers/lyra';
import { handlePayboxNotification } from '../providers/paybox';
import { handleStripeNotification } from '../providers/stripe';
import { handlePaylineNotification, paylineReceiver, type PaylineReceiver } from '../outbound/payline';
import { PaylineFetchGuard } from '../outbound/payline-guard';
import { WindowBudget } from '../lib/window-budget';
import type { IpnProvider } from '../providers/types';

export interface Providers {
  /** Every provider the service receives, by name: the routes and the replay use the same ones. */
  byName: ReadonlyMap<Provider, IpnProvider>;
  /** Payline's merchants and API clients, shared by the route and the deferred fetches. */
  payline: PaylineReceiver | undefined;
}

/**
 * Built once per process (main.ts). `onPaylineRefused` counts the Payline triggers refused for
 * their source's fetch budget.
 */
export function createProviders(config: Config, onPaylineRefused?: () => void): Providers {
  const providers = new Map<Provider, IpnProvider>();
  let paylineShared: PaylineReceiver | undefined;
  const { lyra, paybox, stripe, payline } = config;
  if (lyra !== undefined) {
    providers.set('lyra', {
      name: 'lyra',
      methods: ['POST'],
      contentTypes: [FORM],
      contentTypeOptional: false,
      allowlist: createAllowlist(lyra.allowedCidrs),
      handle: (request) => handleLyraNotification(request.body, lyra.shops),
    });
  }
  if (paybox !== undefined) {
    const receiver = { sites: paybox.sites, keys: paybox.publicKeys };
    providers.set('paybox', {
      name: 'paybox',
      // GET by default; POST with PBX_RUF1=POST, whose Content-Type is not documented.
      methods: ['GET', 'POST'],
      contentTypes: [FORM],
      contentTypeOptional: true,
      allowlist: createAllowlist(paybox.allowedCidrs),
      handle: (request) => handlePayboxNotification(request, receiver),
      // "Ne pas faire de redirection … doit générer une page vide": an empty page on success;
      // a failure keeps its short reason, which Paybox quotes in its warning e-mail.
      replyBody: (status, line) => (status < 300 ? '' : line),
    });
  }
  if (stripe !== undefined) {
    const receiver = { endpoints: stripe.endpoints, toleranceSeconds: stripe.toleranceSeconds };
    providers.set('stripe', {
      name: 'stripe',
      methods: ['POST'],
      contentTypes: ['application/json'],
      contentTypeOptional: false,
      signatureHeader: 'stripe-signature',
      bodyLimitBytes: stripe.bodyLimitBytes,
      allowlist: createAllowlist(stripe.allowedCidrs),
      handle: (request) => handleStripeNotification(request, receiver),
    });
  }
  if (payline !== undefined) {
    // The fetch may take 60% of the reply deadline: the rest records the call, or the deferred fetch.
    const guard = new PaylineFetchGuard(new WindowBudget(payline.fetches.perSource, payline.fetches.total), onPaylineRefused);
    const receiver = paylineReceiver(payline.merchants, payline.connectTimeoutMs, Math.floor(config.ipnDeadlineMs * 0.6), guard);
    paylineShared = receiver;
    providers.set('payline', {
      name: 'payline',
      // An unsigned trigger in the query string; the result is fetched from Payline.
      methods: ['GET'],
      contentTypes: [FORM],
      contentTypeOptional: true,
      allowlist: createAllowlist(payline.allowedCidrs),
      handle: (request) => handlePaylineNotification(request, receiver),
    });
  }
  return { byName: providers, payline: paylineShared };
}

const FORM = 'application/x-www-form-urlencoded';
