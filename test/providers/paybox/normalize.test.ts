import { generateKeyPairSync, sign } from 'node:crypto';
import { handlePayboxNotification, parsePayboxReturn, PayboxConfigError, type PayboxSite } from '../../../src/providers/paybox';
import { normalizePayboxError } from '../../../src/providers/paybox/statuses';
import { DEFAULT_RETOUR, payboxMessage, type PayboxNotificationOptions } from '../../../src/tools/paybox-notifications';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function site(id: string, retour = DEFAULT_RETOUR): PayboxSite {
  const [number = '', rang = ''] = id.split('-');
  return { id, site: number, rang, mode: 'TEST', currency: 'EUR', retour: parsePayboxReturn(retour), capture: 'immediate', direct: null };
}

const one = { sites: new Map([['1999888-32', site('1999888-32')]]), keys: [publicKey] };
const get = (o: Omit<PayboxNotificationOptions, 'privateKeyPem'>, receiver = one, query?: string) =>
  handlePayboxNotification({ body: Buffer.alloc(0), query: query ?? payboxMessage({ ...o, privateKeyPem: pem }) }, receiver);
const first = (result: ReturnType<typeof get>) => {
  if (!result.ok) throw new Error(result.rejection.reason);
  return result.notifications[0];
};

describe('PBX_RETOUR parsing', () => {
  it('maps names to letters in order, with the signature last', () => {
    const mapping = parsePayboxReturn('Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K');
    expect(mapping.names).toEqual(['Mt', 'Ref', 'Auto', 'Erreur', 'Trans', 'Appel', 'Sign']);
    expect(mapping.byLetter.get('S')).toBe('Trans');
    expect(mapping.signatureName).toBe('Sign');
  });

  it.each([
    ['Mt:M;Ref:R;Erreur:E', 'must return K (amount M, reference R, error E, signature K)'],
    ['Mt:M;Ref:R;Sign:K;Erreur:E', 'the signature (K) must be the last variable: anything after it is not signed'],
    ['Mt:M;Mt:R;Erreur:E;Sign:K', 'variable Mt appears twice'],
    ['Mt:M;Ref:M;Erreur:E;Sign:K', 'letter M appears twice'],
    ['Mt=M;Ref:R;Erreur:E;Sign:K', '"Mt=M" is not name:LETTER'],
    ['Mt:M;Ref:R;Erreur:E;Sign:K', 'must return the transaction and call numbers (add Trans:S;Appel:T before K), or at least the authorisation number (Auto:A): without them a payment cannot be told from another attempt'],
  ])('%s is refused: %s', (retour, message) => {
    expect(() => parsePayboxReturn(retour)).toThrow(new PayboxConfigError(message));
  });
});

describe('Paybox error codes', () => {
  it.each([
    ['00000', 'XXXXXX', 'authorised'],
    ['00000', null, 'unknown'],
    ['00200', '123456', 'authorised'],
    ['99999', null, 'pending'],
    ['00151', null, 'refused'],
    ['00100', null, 'refused'],
    ['00004', null, 'refused'],
    ['00030', null, 'abandoned'],
    ['00015', null, 'unknown'],
    ['12345', null, 'unknown'],
  ] as const)('%s with authorisation %s is %s', (code, authorisation, status) => {
    expect(normalizePayboxError(code, authorisation, true)).toBe(status);
  });

  it('a success without authorisation counts when the site does not return A', () => {
    expect(normalizePayboxError('00000', null, false)).toBe('authorised');
  });
});

describe('Paybox normalization', () => {
  it('a paid IPN by GET', () => {
    expect(first(get({ orderId: 'CMD 42/été', amount: 1234, call: '555', transaction: '777' }))).toEqual({
      provider: 'paybox',
      format: 'ipn',
      shopId: '1999888-32',
      mode: 'TEST',
      orderId: 'CMD 42/été',
      transactionId: '777',
      status: 'authorised',
      statusRaw: '00000',
      operation: 'debit',
      operationRaw: null,
      amount: 1234,
      currency: 'EUR',
      sequenceNumber: null,
      paymentConfig: null,
      source: null,
      eventTime: null,
      failureIsFinal: false,
      callNumber: '555',
    });
  });

  it('the same IPN by POST (PBX_RUF1=POST) gives the same notification', () => {
    const raw = payboxMessage({ orderId: 'P-1', privateKeyPem: pem });
    const byPost = handlePayboxNotification({ body: Buffer.from(raw, 'latin1'), query: '' }, one);
    expect(byPost).toEqual(get({ orderId: 'P-1' }));
  });

  it('a refused attempt with S=0 is identified by its call number', () => {
    const n = first(get({ orderId: 'R-1', error: '00151', transaction: '0', call: '901' }));
    expect(n).toMatchObject({ transactionId: 'call-901', status: 'refused', statusRaw: '00151', failureIsFinal: false, callNumber: '901' });
  });

  it('a call number of zeros, or none, is no call number', () => {
    expect(first(get({ orderId: 'R-2', error: '00151', transaction: '12', call: '0' }))?.callNumber).toBeUndefined();
  });

  it('a reference escaped as ISO-8859-1 rather than UTF-8 is decoded as ISO-8859-1', () => {
    const signed = 'Mt=100&Ref=caf%E9&Erreur=00004&Trans=5&Appel=6';
    const raw = `${signed}&Sign=${encodeURIComponent(sign('sha1', Buffer.from(signed), pem).toString('base64'))}`;
    expect(first(handlePayboxNotification({ body: Buffer.alloc(0), query: raw }, one))?.orderId).toBe('café');
  });

  it('several sites: the site parameter of PBX_REPONDRE_A selects one, unsigned, before the variables', () => {
    const two = { sites: new Map([['1999888-32', site('1999888-32')], ['1999888-43', site('1999888-43')]]), keys: [publicKey] };
    const raw = payboxMessage({ orderId: 'S-1', prefix: 'site=1999888-43', privateKeyPem: pem });
    expect(first(get({ orderId: 'S-1' }, two, raw))?.shopId).toBe('1999888-43');
    // By POST the parameter stays in the URL and the body holds the variables.
    const body = payboxMessage({ orderId: 'S-1', privateKeyPem: pem });
    const byPost = handlePayboxNotification({ body: Buffer.from(body), query: 'site=1999888-43' }, two);
    expect(byPost.ok && byPost.notifications[0]?.shopId).toBe('1999888-43');
    expect(get({ orderId: 'S-1' }, two)).toEqual({ ok: false, rejection: { verdict: 'unknown_shop', reason: 'several Paybox sites are configured: add site=<site>-<rang> to PBX_REPONDRE_A' } });
    expect(get({ orderId: 'S-1' }, two, `site=1-2&${body}`)).toEqual({ ok: false, rejection: { verdict: 'unknown_shop', reason: 'unknown Paybox site 1-2' } });
  });

  it('refuses what the signature cannot vouch for, with the reason', () => {
    expect(get({ orderId: 'B-1' }, one, '')).toEqual({ ok: false, rejection: { verdict: 'malformed', reason: 'no variables in the query string nor in the body' } });
    const raw = payboxMessage({ orderId: 'B-1', privateKeyPem: pem });
    expect(get({ orderId: 'B-1' }, one, raw.replace('Mt=4990', 'Mt=1'))).toEqual({ ok: false, rejection: { verdict: 'bad_signature', reason: 'signature does not verify with the Paybox public key(s)' } });
    expect(get({ orderId: 'B-1' }, one, raw.slice(0, raw.indexOf('&Sign=')))).toEqual({ ok: false, rejection: { verdict: 'bad_signature', reason: 'signature variable Sign missing' } });
  });

  it('records a signed message without the amount or with a malformed code as not applied, never refused', () => {
    const noAmount = payboxMessage({ orderId: 'M-1', retour: 'Ref:R;Erreur:E;Appel:T;Sign:K', privateKeyPem: pem });
    const receiver = { sites: new Map([['1999888-32', site('1999888-32', 'Ref:R;Erreur:E;Mt:M;Appel:T;Sign:K')]]), keys: [publicKey] };
    const unrecognized = (reason: string) => ({ ok: true, notifications: [], ignored: reason, ignoredKind: 'unrecognized' });
    expect(handlePayboxNotification({ body: Buffer.alloc(0), query: noAmount }, receiver)).toEqual(unrecognized('Mt (amount) is missing'));
    expect(get({ orderId: 'M-2', error: '0' })).toEqual(unrecognized('Erreur (error code) is missing or not 5 digits'));
  });
});
