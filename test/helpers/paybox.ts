import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppHandler } from '../../src/http/app';
import request from 'supertest';
import { DEFAULT_RETOUR, payboxMessage, type PayboxNotificationOptions } from '../../src/tools/paybox-notifications';

/** A Paybox production address; tests arrive through the trusted loopback proxy. */
export const PAYBOX_IP = '194.2.122.190';

/** Two sites of one merchant, verified with the simulator's public key instead of the platform's. */
export const PAYBOX_ENV = {
  PAYBOX_SITES: JSON.stringify([
    { site: '1999888', rang: '32', retour: DEFAULT_RETOUR, mode: 'TEST' },
    { site: '1999888', rang: '43', retour: 'Mt:M;Ref:R;Erreur:E;Appel:T;Sign:K', mode: 'TEST', currency: 'USD' },
  ]),
  PAYBOX_PUBLIC_KEYS: readFileSync(join(__dirname, '../../keys/paybox/simulator-public.pem'), 'utf8'),
};

/** The default site, selected by the `site` parameter of the notification URL. */
export const SITE_QUERY = 'site=1999888-32';

/** The IPN by GET, as Paybox sends it by default: merchant parameter first, then the variables. */
export function getPaybox(app: AppHandler, options: PayboxNotificationOptions | string, from = PAYBOX_IP) {
  const query = typeof options === 'string' ? options : payboxMessage({ prefix: SITE_QUERY, ...options });
  return request(app).get(`/ipn/paybox?${query}`).set('X-Forwarded-For', from);
}

/** The IPN by POST (PBX_RUF1=POST): the variables in the body, the merchant parameter in the URL. */
export function postPaybox(app: AppHandler, options: PayboxNotificationOptions | string, contentType: string | null = 'application/x-www-form-urlencoded') {
  const body = typeof options === 'string' ? options : payboxMessage(options);
  const req = request(app).post(`/ipn/paybox?${SITE_QUERY}`).set('X-Forwarded-For', PAYBOX_IP);
  if (contentType !== null) req.set('Content-Type', contentType);
  return req.serialize((bytes: Buffer) => bytes as unknown as string).send(Buffer.from(body, 'latin1'));
}
