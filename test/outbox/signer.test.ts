import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { parseWebhookSecret, signWebhook, WebhookSecretError } from '../../src/outbox/signer';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const KEY = parseWebhookSecret(SECRET);

describe('Standard Webhooks signer', () => {
  it('matches the example of the Standard Webhooks specification', () => {
    const headers = signWebhook({ id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330, body: '{"test": 2432232314}' }, KEY);
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('every signed message verifies with the reference library, and no altered one does', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.json(), fc.string({ minLength: 1 }), (id, body, extra) => {
        const headers = signWebhook({ id, timestamp: Math.floor(Date.now() / 1000), body }, KEY);
        expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
        expect(() => new Webhook(SECRET).verify(body + extra, headers)).toThrow();
        expect(() => new Webhook(SECRET).verify(body, { ...headers, 'webhook-id': `${id}x` })).toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it('takes the base64 key with or without the whsec_ prefix', () => {
    expect(parseWebhookSecret(SECRET.slice(6))).toEqual(KEY);
    expect(KEY).toHaveLength(24);
  });

  it.each([
    ['whsec_', 'must be "whsec_" followed by base64'],
    ['whsec_abc', 'must be "whsec_" followed by base64'],
    ['whsec_****', 'must be "whsec_" followed by base64'],
    [`whsec_${Buffer.alloc(23).toString('base64')}`, 'must decode to 24 to 64 bytes, got 23'],
    [`whsec_${Buffer.alloc(65).toString('base64')}`, 'must decode to 24 to 64 bytes, got 65'],
  ])('rejects %s: %s', (secret, message) => {
    expect(() => parseWebhookSecret(secret)).toThrow(new WebhookSecretError(message));
  });
});
