import { createHmac, randomBytes } from 'node:crypto';

/**
 * Builds Stripe events and their `Stripe-Signature` header as Stripe sends them: for the
 * simulator and the tests. Only the platform side of the protocol lives here.
 */
export interface StripeEventOptions {
  type: string;
  /** Default: a new evt_ id; pass the same id to imitate a redelivery. */
  id?: string;
  orderId?: string;
  paymentIntent?: string;
  amount?: number;
  currency?: string;
  livemode?: boolean;
  created?: number;
  /** payment_failed: the charge of the failed attempt. */
  charge?: string;
  /** refund.*: the refund id and status. */
  refund?: string;
  refundStatus?: string;
  /** checkout.session.*: the session's payment_status. */
  paymentStatus?: string;
  /** Replaces the event's data.object entirely. */
  object?: Record<string, unknown>;
  /** Connect: the connected account the event happened on. */
  account?: string;
}

function objectOf(o: StripeEventOptions): Record<string, unknown> {
  const pi = o.paymentIntent ?? 'pi_3SimulatorPaymentIntent';
  const amount = o.amount ?? 4990;
  const currency = (o.currency ?? 'EUR').toLowerCase();
  const metadata = o.orderId === undefined ? {} : { order_id: o.orderId };
  if (o.type.startsWith('refund.')) {
    return { id: o.refund ?? `re_${randomBytes(8).toString('hex')}`, object: 'refund', amount, currency, payment_intent: pi, charge: o.charge ?? null, status: o.refundStatus ?? 'succeeded', metadata };
  }
  if (o.type.startsWith('checkout.session.')) {
    return { id: `cs_test_${randomBytes(8).toString('hex')}`, object: 'checkout.session', amount_total: amount, currency, payment_intent: pi, payment_status: o.paymentStatus ?? 'paid', client_reference_id: o.orderId ?? null, metadata: {} };
  }
  const failed = o.type === 'payment_intent.payment_failed';
  return {
    id: pi,
    object: 'payment_intent',
    amount,
    amount_received: o.type === 'payment_intent.succeeded' ? amount : 0,
    currency,
    status: failed ? 'requires_payment_method' : o.type === 'payment_intent.succeeded' ? 'succeeded' : 'processing',
    latest_charge: o.charge ?? null,
    last_payment_error: failed ? { code: 'card_declined', charge: o.charge ?? null } : null,
    metadata,
  };
}

/** The JSON body of one event, as Stripe serializes it. */
export function stripeEventBody(o: StripeEventOptions): string {
  return JSON.stringify(
    {
      id: o.id ?? `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      ...(o.account === undefined ? {} : { account: o.account }),
      api_version: '2025-09-30.clover',
      created: o.created ?? Math.floor(Date.now() / 1000),
      livemode: o.livemode ?? false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: o.type,
      data: { object: o.object ?? objectOf(o) },
    },
    null,
    2,
  );
}

/** `t=<seconds>,v1=<hex>` for each secret (two during a roll), over `<t>.<body>`. */
export function stripeSignatureHeader(body: string | Uint8Array, secrets: readonly string[], timestamp = Math.floor(Date.now() / 1000)): string {
  const signatures = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`);
  return [`t=${timestamp}`, ...signatures].join(',');
}
