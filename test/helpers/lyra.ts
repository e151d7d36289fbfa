import request from 'supertest';
import type { Express } from 'express';
import { lyraFormBody, lyraRestBody, type LyraNotificationOptions } from '../../src/tools/lyra-notifications';
import { HMAC_SHOP, PLATFORM_IP } from './app';

type Options = Omit<LyraNotificationOptions, 'shopId'> & { shopId?: string };

export function formBody(options: Options): string {
  const mode = options.mode ?? 'TEST';
  return lyraFormBody({ shopId: HMAC_SHOP.shopId, ...options }, mode === 'TEST' ? HMAC_SHOP.testKey : HMAC_SHOP.productionKey);
}

export function restBody(options: Options): string {
  const mode = options.mode ?? 'TEST';
  return lyraRestBody({ shopId: HMAC_SHOP.shopId, ...options }, mode === 'TEST' ? HMAC_SHOP.testPassword : HMAC_SHOP.productionPassword);
}

/** POST a body to /ipn/lyra from the platform's address, through the trusted loopback proxy. */
export function postLyra(app: Express, body: string | Buffer, contentType = 'application/x-www-form-urlencoded') {
  const req = request(app).post('/ipn/lyra').set('X-Forwarded-For', PLATFORM_IP).set('Content-Type', contentType);
  // Raw bytes as they are: superagent would otherwise run a Buffer through its form serializer.
  return Buffer.isBuffer(body) ? req.serialize((bytes: Buffer) => bytes as unknown as string).send(body) : req.send(body);
}

export function sendForm(app: Express, options: Options) {
  return postLyra(app, formBody(options));
}

export function sendRest(app: Express, options: Options) {
  return postLyra(app, restBody(options));
}
