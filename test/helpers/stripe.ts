import type { AppHandler } from '../../src/http/app';
import request from 'supertest';
import { stripeEventBody, stripeSignatureHeader, type StripeEventOptions } from '../../src/tools/stripe-notifications';

export const STRIPE_SECRET = 'whsec_testEndpointSecret0123456789abcdef';
export const STRIPE_OLD_SECRET = 'whsec_previousEndpointSecret987654321';

/** One endpoint mid-roll: the new secret and the one it replaces. */
export const STRIPE_ENV = {
  STRIPE_ENDPOINTS: JSON.stringify([{ id: 'acct_test', secrets: [STRIPE_SECRET, STRIPE_OLD_SECRET] }]),
};

export interface SendOptions {
  secrets?: string[];
  timestamp?: number;
  contentType?: string;
  header?: string | null;
}

/** POST an event as Stripe does: JSON body, Stripe-Signature over its exact bytes. */
export function postStripe(app: AppHandler, event: StripeEventOptions | string, options: SendOptions = {}) {
  const body = typeof event === 'string' ? event : stripeEventBody(event);
  const header = options.header === undefined ? stripeSignatureHeader(body, options.secrets ?? [STRIPE_SECRET], options.timestamp) : options.header;
  const req = request(app).post('/ipn/stripe').set('Content-Type', options.contentType ?? 'application/json; charset=utf-8');
  if (header !== null) req.set('Stripe-Signature', header);
  return req.send(body);
}
