import { AUDIT_TOKEN, HMAC_SHOP, SHA1_SHOP } from '../helpers/app';
import { capturedLogs } from '../helpers/log-capture';
import { WEBHOOK_SECRET } from '../helpers/outbox';

// The secrets the suite configures and the card data its notifications carry: none may appear in
// any log line written while a test file runs, whatever the test did.
const SECRETS = [
  HMAC_SHOP.testKey,
  HMAC_SHOP.productionKey,
  HMAC_SHOP.testPassword,
  HMAC_SHOP.productionPassword,
  SHA1_SHOP.testKey,
  AUDIT_TOKEN,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET.slice('whsec_'.length),
  '4970101234567893',
  'buyer@example.com',
  'zoe.martin@example.fr',
];

afterAll(() => {
  const text = capturedLogs.join('');
  const leaked = SECRETS.filter((secret) => text.includes(secret));
  expect({ secretsInLogs: leaked }).toEqual({ secretsInLogs: [] });
});
