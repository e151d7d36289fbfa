import request from 'supertest';
import type { AppHandler } from '../../src/http/app';
import { lyraFormBody, lyraRestBody, type LyraNotificationOptions } from '../../src/tools/lyra-notifications';
import { HMAC_SHOP, PLATFORM_IP } from './app';

type Options = Omit<LyraNotificationOptions, 'shopId'> & { shopId?: string };

function secretsFor(options: Options) {
  return (options.mode ?? 'TEST') === 'TEST'
    ? { key: HMAC_SHOP.testKey, password: HMAC_SHOP.testPassword }
    : { key: HMAC_SHOP.productionKey, password: HMAC_SHOP.productionPassword };
}

export function formBody(options: Options): string {
  return lyraFormBody({ shopId: HMAC_SHOP.shopId, ...options }, secretsFor(options).key);
}

export function restBody(options: Options): string {
  return lyraRestBody({ shopId: HMAC_SHOP.shopId, ...options }, secretsFor(options).password);
}

/** POST a body to /ipn/lyra from the platform's address, through the trusted loopback proxy. */
export function postLyra(app: AppHandler, body: string | Buffer, contentType = 'application/x-www-form-urlencoded') {
  const req = request(app).post('/ipn/lyra').set('X-Forwarded-For', PLATFORM_IP).set('Content-Type', contentType);
  // Raw bytes as they are: superagent would otherwise run a Buffer through its form serializer.
  return Buffer.isBuffer(body) ? req.serialize((bytes: Buffer) => bytes as unknown as string).send(body) : req.send(body);
}

export function sendForm(app: AppHandler, options: Options) {
  return postLyra(app, formBody(options));
}

export function sendRest(app: AppHandler, options: Options) {
  return postLyra(app, restBody(options));
}
