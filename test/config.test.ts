import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIGURATION_AREAS, ConfigError, DEMO_LYRA_SHOP, DEMO_PAYBOX_PUBLIC_KEY, loadConfig, PAYBOX_DEFAULT_CIDRS, parseTrustProxy } from '../src/config';
import { configurationHead, envExample, GENERATED_END } from '../src/config/docs';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('development without LYRA_SHOPS: the demo shop and loopback, flagged', () => {
    const config = loadConfig({});
    expect(config.demoDefaults).toBe(true);
    expect([...(config.lyra?.shops.values() ?? [])]).toEqual([DEMO_LYRA_SHOP]);
    expect(config.lyra?.allowedCidrs).toEqual(['194.50.38.0/24', '127.0.0.0/8', '::1/128']);
    expect(config).toMatchObject({ port: 3000, host: '0.0.0.0', ipnDeadlineMs: 5000, ipnBodyLimitBytes: 65536, trustProxy: false, dataDir: './data', databaseUrl: undefined, databasePoolSize: 10, databaseWriteBatches: 1 });
  });

  it('production without LYRA_SHOPS stops with a message naming the variable', () => {
    expect(configError({ NODE_ENV: 'production' }).message).toMatch(/^LYRA_SHOPS: is required in production/);
  });

  it('with LYRA_SHOPS nothing is defaulted: no demo shop, no loopback', () => {
    const config = loadConfig({ NODE_ENV: 'production', LYRA_SHOPS: '[{"shopId":"11112222","productionKey":" k "}]' });
    expect(config.demoDefaults).toBe(false);
    expect(config.lyra?.allowedCidrs).toEqual(['194.50.38.0/24']);
    expect(config.lyra?.shops.get('11112222')).toEqual({ shopId: '11112222', algorithm: 'HMAC-SHA-256', productionKey: 'k', apiUrl: 'https://api.payzen.eu' });
    const systempay = loadConfig({ NODE_ENV: 'production', LYRA_SHOPS: '[{"shopId":"1","productionPassword":"p","apiUrl":"https://api.systempay.fr/"}]' });
    expect(systempay.lyra?.shops.get('1')?.apiUrl).toBe('https://api.systempay.fr');
  });

  it.each([
    [{ LYRA_SHOPS: 'nope' }, 'LYRA_SHOPS: is not valid JSON'],
    [{ LYRA_SHOPS: '[]' }, 'LYRA_SHOPS: must be a non-empty JSON array of shops'],
    [{ LYRA_SHOPS: '[{"shopId":"1","prodKey":"x"}]' }, 'LYRA_SHOPS: entry 0 has unknown field(s) prodKey'],
    [{ LYRA_SHOPS: '[{"shopId":"1"}]' }, 'LYRA_SHOPS: shop 1 has no key nor password'],
    [{ LYRA_SHOPS: '[{"shopId":"1","testKey":"a","algorithm":"MD5"}]' }, 'LYRA_SHOPS: shop 1: algorithm must be "HMAC-SHA-256" or "SHA-1"'],
    [{ LYRA_SHOPS: '[{"shopId":"1","testKey":"a","apiUrl":"api.payzen.eu"}]' }, 'LYRA_SHOPS: shop 1: apiUrl must be an http(s) URL'],
    [{ LYRA_SHOPS: '[{"shopId":"1","testKey":"a","apiUrl":"https://api.payzen.eu/api-payment/V4"}]' }, 'LYRA_SHOPS: shop 1: apiUrl must be a scheme and host, such as https://api.payzen.eu'],
    [{ LYRA_SHOPS: '[{"shopId":"1","testKey":"a"},{"shopId":"1","testKey":"b"}]' }, 'LYRA_SHOPS: shop 1 appears twice'],
    [{ LYRA_ALLOWED_CIDRS: '194.50.38.0/33' }, 'LYRA_ALLOWED_CIDRS: "194.50.38.0/33" has an invalid prefix length'],
    [{ LYRA_ALLOWED_CIDRS: 'example.com' }, 'LYRA_ALLOWED_CIDRS: "example.com" is not an IP address or CIDR range'],
    [{ PORT: 'eighty' }, 'PORT: must be a whole number, got "eighty"'],
    [{ DATABASE_WRITE_BATCHES: '0' }, 'DATABASE_WRITE_BATCHES: must be between 1 and 50, got 0'],
    [{ IPN_DEADLINE_MS: '20000' }, 'IPN_DEADLINE_MS: must be between 100 and 9000, got 20000'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: must start with postgres:// or postgresql://'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'],
    [{ TRUST_PROXY: 'not-an-address' }, 'TRUST_PROXY'],
    [{ AUDIT_API_TOKEN: 'short' }, 'AUDIT_API_TOKEN: must be at least 32 characters'],
    [{ RETENTION_DAYS: '-1' }, 'RETENTION_DAYS: must be a whole number, got "-1"'],
    [{ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '15000' }, 'HTTP_REQUEST_TIMEOUT_MS: must be above HTTP_HEADERS_TIMEOUT_MS (20000)'],
    [{ MAX_CONNECTIONS: '0' }, 'MAX_CONNECTIONS: must be between 1 and 100000'],
    [{ ROLE: 'worker' }, 'ROLE: must be one of all, receiver, relay, got "worker"'],
    [{ ORDER_EVENTS_URL: 'orders.internal/events' }, 'ORDER_EVENTS_URL: is not a valid URL'],
    [{ ORDER_EVENTS_URL: 'ftp://orders.internal/' }, 'ORDER_EVENTS_URL: must be an http:// or https:// URL'],
    [{ ORDER_EVENTS_URL: 'https://shop:pw@orders.internal/' }, 'ORDER_EVENTS_URL: must not carry credentials'],
    [{ ORDER_EVENTS_URL: 'https://orders.internal/' }, 'ORDER_EVENTS_SECRET: is required with ORDER_EVENTS_URL'],
    [{ ORDER_EVENTS_URL: 'https://o/', ORDER_EVENTS_SECRET: 'whsec_not base64!' }, 'ORDER_EVENTS_SECRET: must be "whsec_" followed by base64'],
    [{ ORDER_EVENTS_URL: 'https://o/', ORDER_EVENTS_SECRET: 'whsec_c2hvcnQ=' }, 'ORDER_EVENTS_SECRET: must decode to 24 to 64 bytes, got 5'],
    [{ ORDER_EVENTS_URL: 'https://o/', ORDER_EVENTS_SECRET: SECRET, ORDER_EVENTS_BACKOFF_BASE_MS: '5000', ORDER_EVENTS_BACKOFF_MAX_MS: '1000' }, 'ORDER_EVENTS_BACKOFF_MAX_MS: must not be below'],
    [{ ORDER_EVENTS_URL: 'https://o/', ORDER_EVENTS_SECRET: SECRET, ORDER_EVENTS_CONCURRENCY: '0' }, 'ORDER_EVENTS_CONCURRENCY: must be between 1 and 256'],
  ])('%o → %s', (env, message) => {
    expect(configError(env).message).toContain(message);
  });

  it('without ORDER_EVENTS_URL there is no relay; with it, the defaults of the retry policy', () => {
    expect(loadConfig({}).orderEvents).toBeUndefined();
    expect(loadConfig({}).role).toBe('all');
    expect(loadConfig({})).toMatchObject({ retentionDays: 90 });
    // The demo has its own operator token, from loopback only; a configuration of one's own has none by default.
    expect(loadConfig({}).operatorTokens.map((t) => [t.name, t.loopbackOnly])).toEqual([['demo', true]]);
    expect(loadConfig({ LYRA_SHOPS: '[{"shopId":"1","testKey":"k"}]' }).operatorTokens).toEqual([]);
    const config = loadConfig({ ORDER_EVENTS_URL: 'https://orders.internal/ipn-events', ORDER_EVENTS_SECRET: SECRET, ROLE: 'receiver', DATABASE_URL: 'postgres://db/ipn' });
    expect(config.role).toBe('receiver');
    expect(config.orderEvents).toMatchObject({
      url: 'https://orders.internal/ipn-events',
      timeoutMs: 10_000,
      concurrency: 8,
      pollMs: 5000,
      policy: { maxAttempts: 24, backoffBaseMs: 2000, backoffMaxMs: 7_200_000 },
    });
    expect(config.orderEvents?.key).toEqual(Buffer.from(SECRET.slice('whsec_'.length), 'base64'));
  });

  it('TRUST_PROXY follows Express semantics', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
  });
});

describe('Paybox configuration', () => {
  const retour = 'Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K';
  const sites = (entries: unknown[]) => JSON.stringify(entries);
  const simulatorKeyFile = join(__dirname, '../keys/paybox/simulator-public.pem');

  it('development with no provider: the Paybox test site, trusting the platform and simulator keys, and loopback', () => {
    const config = loadConfig({});
    expect([...(config.paybox?.sites.keys() ?? [])]).toEqual(['1999888-32']);
    expect(config.paybox?.publicKeys).toHaveLength(2);
    expect(config.paybox?.allowedCidrs).toEqual([...PAYBOX_DEFAULT_CIDRS, '127.0.0.0/8', '::1/128']);
    expect(DEMO_PAYBOX_PUBLIC_KEY).toBe(readFileSync(simulatorKeyFile, 'utf8'));
  });

  it('production with PAYBOX_SITES alone: Paybox only, the platform key, the documented addresses', () => {
    const config = loadConfig({ NODE_ENV: 'production', PAYBOX_SITES: sites([{ site: 1999888, rang: '01', retour }]) });
    expect(config.lyra).toBeUndefined();
    expect(config.demoDefaults).toBe(false);
    expect(config.paybox?.sites.get('1999888-01')).toMatchObject({ id: '1999888-01', site: '1999888', rang: '01', mode: 'PRODUCTION', currency: 'EUR' });
    expect(config.paybox?.publicKeys.map((k) => k.export({ type: 'spki', format: 'der' }).length)).toEqual([162]);
    expect(config.paybox?.allowedCidrs).toEqual(PAYBOX_DEFAULT_CIDRS);
  });

  it('PAYBOX_PUBLIC_KEYS: PEM values (newlines written \\n too) or files, several at once', () => {
    const pem = readFileSync(simulatorKeyFile, 'utf8');
    const base = { PAYBOX_SITES: sites([{ site: '1', rang: '1', retour }]) };
    expect(loadConfig({ ...base, PAYBOX_PUBLIC_KEYS: pem }).paybox?.publicKeys).toHaveLength(1);
    expect(loadConfig({ ...base, PAYBOX_PUBLIC_KEYS: pem.replace(/\n/g, '\\n') }).paybox?.publicKeys).toHaveLength(1);
    expect(loadConfig({ ...base, PAYBOX_PUBLIC_KEYS: `${pem}${pem}` }).paybox?.publicKeys).toHaveLength(2);
    expect(loadConfig({ ...base, PAYBOX_PUBLIC_KEYS: `${simulatorKeyFile}, ${simulatorKeyFile}` }).paybox?.publicKeys).toHaveLength(2);
  });

  it('Paybox Direct per site: off without its HMAC key; the production hosts, or pre-production in TEST; 00103 unless 00104', () => {
    const key = 'ab'.repeat(64);
    const config = loadConfig({
      NODE_ENV: 'production',
      PAYBOX_SITES: sites([
        { site: '1', rang: '1', retour },
        { site: '1', rang: '2', retour, directHmacKey: key, capture: 'deferred' },
        { site: '1', rang: '3', retour, mode: 'TEST', directHmacKey: key, directVersion: '00104' },
        { site: '1', rang: '4', retour, directHmacKey: key, directUrls: ['http://proxy.internal/PPPS.php'] },
      ]),
    });
    const paybox = config.paybox?.sites;
    expect(paybox?.get('1-1')).toMatchObject({ capture: 'immediate', direct: null });
    expect(paybox?.get('1-2')).toMatchObject({ capture: 'deferred', direct: { site: '1', rang: '2', version: '00103', hmacKeyHex: key.toUpperCase(), urls: ['https://ppps.paybox.com/PPPS.php', 'https://ppps1.paybox.com/PPPS.php'] } });
    expect(paybox?.get('1-3')?.direct).toMatchObject({ version: '00104', urls: ['https://preprod-ppps.paybox.com/PPPS.php'] });
    expect(paybox?.get('1-4')?.direct?.urls).toEqual(['http://proxy.internal/PPPS.php']);
    expect(config.paybox?.directTimeoutMs).toBe(20_000);
    expect(loadConfig({ ...{ NODE_ENV: 'production', PAYBOX_SITES: sites([{ site: '1', rang: '1', retour }]) }, PAYBOX_DIRECT_TIMEOUT_MS: '5000' }).paybox?.directTimeoutMs).toBe(5000);
  });

  it.each([
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, directHmacKey: 'not hex' }]) }, 'PAYBOX_SITES: site 1-1: directHmacKey must be the HMAC key in hexadecimal'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, directHmacKey: 'abc' }]) }, 'directHmacKey must be the HMAC key in hexadecimal'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, directUrls: ['https://x/PPPS.php'] }]) }, 'PAYBOX_SITES: site 1-1: directUrls and directVersion need directHmacKey'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, directHmacKey: 'ab'.repeat(64), directUrls: [] }]) }, 'directUrls must be a non-empty list of URLs'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, directHmacKey: 'ab'.repeat(64), directUrls: ['ftp://x'] }]) }, 'PAYBOX_SITES: site 1-1: directUrls[0] must be an http(s) URL'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, directHmacKey: 'ab'.repeat(64), directVersion: '00105' }]) }, 'directVersion must be 00103 (Paybox Direct) or 00104 (Paybox Direct Plus)'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, capture: 'later' }]) }, 'PAYBOX_SITES: site 1-1: capture must be immediate, or deferred'],
    [{ PAYBOX_DIRECT_TIMEOUT_MS: '10' }, 'PAYBOX_DIRECT_TIMEOUT_MS'],
  ])('Paybox Direct: %o → %s', (env, message) => {
    expect(configError(env).message).toContain(message);
  });

  it.each([
    [{ PAYBOX_SITES: '{' }, 'PAYBOX_SITES: is not valid JSON'],
    [{ PAYBOX_SITES: '[]' }, 'PAYBOX_SITES: must be a non-empty JSON array of sites'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, key: 'x' }]) }, 'PAYBOX_SITES: entry 0 has unknown field(s) key'],
    [{ PAYBOX_SITES: sites([{ site: 'abc', rang: '1', retour }]) }, 'PAYBOX_SITES: entry 0: site must be the Paybox site number (PBX_SITE)'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1' }]) }, 'PAYBOX_SITES: site 1-1: retour must be the PBX_RETOUR you send'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour: 'Mt:M;Ref:R;Sign:K;Erreur:E' }]) }, 'PAYBOX_SITES: site 1-1: retour the signature (K) must be the last variable'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour: 'Mt:M;site:R;Erreur:E;Appel:T;Sign:K' }]) }, 'must not name a variable "site"'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, mode: 'LIVE' }]) }, 'PAYBOX_SITES: site 1-1: mode must be TEST or PRODUCTION'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour, currency: 'euro' }]) }, 'PAYBOX_SITES: site 1-1: currency must be an ISO 4217 code'],
    [{ PAYBOX_SITES: sites([{ site: '1', rang: '1', retour }, { site: '1', rang: '1', retour }]) }, 'PAYBOX_SITES: site 1-1 appears twice'],
    [{ PAYBOX_PUBLIC_KEYS: '/nonexistent/key.pem' }, 'PAYBOX_PUBLIC_KEYS: cannot read /nonexistent/key.pem'],
    [{ PAYBOX_PUBLIC_KEYS: '-----BEGIN nothing' }, 'PAYBOX_PUBLIC_KEYS: holds no PEM public key'],
    [{ PAYBOX_PUBLIC_KEYS: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }, 'PAYBOX_PUBLIC_KEYS: a key does not parse'],
    [{ PAYBOX_ALLOWED_CIDRS: '300.1.1.1' }, 'PAYBOX_ALLOWED_CIDRS'],
  ])('%o → %s', (env, message) => {
    expect(configError(env).message).toContain(message);
  });
});

describe('Stripe configuration', () => {
  const endpoints = (entries: unknown[]) => JSON.stringify(entries);

  it('an endpoint may carry the restricted key the reconciliation reads Events with; the API is Stripe\'s unless said', () => {
    const config = loadConfig({ NODE_ENV: 'production', STRIPE_ENDPOINTS: endpoints([{ id: 'a', secrets: ['whsec_0123456789'], apiKey: 'rk_live_0123456789ab' }]) });
    expect(config.stripe?.endpoints[0]?.apiKey).toBe('rk_live_0123456789ab');
    expect(config.stripe?.apiUrl).toBe('https://api.stripe.com');
    expect(loadConfig({ STRIPE_API_URL: 'http://127.0.0.1:9999/' }).stripe?.apiUrl).toBe('http://127.0.0.1:9999');
  });

  it('development with no provider: a demo endpoint; production needs STRIPE_ENDPOINTS for a route', () => {
    expect(loadConfig({}).stripe?.endpoints.map((e) => e.id)).toEqual(['demo']);
    expect(loadConfig({ NODE_ENV: 'production', LYRA_SHOPS: '[{"shopId":"1","productionKey":"k"}]' }).stripe).toBeUndefined();
  });

  it('STRIPE_ENDPOINTS alone is enough in production: secrets for rotation, the order id paths, any source, 300 s', () => {
    const config = loadConfig({ NODE_ENV: 'production', STRIPE_ENDPOINTS: endpoints([{ id: 'acct_1', secrets: ['whsec_new_0123456789', 'whsec_old_0123456789'] }, { id: 'shop-de', secrets: ['whsec_de_0123456789'], orderIdPath: 'metadata.cart' }]) });
    expect(config.lyra).toBeUndefined();
    expect(config.stripe).toEqual({
      endpoints: [
        { id: 'acct_1', secrets: ['whsec_new_0123456789', 'whsec_old_0123456789'], orderIdPaths: [['metadata', 'order_id'], ['client_reference_id']] },
        { id: 'shop-de', secrets: ['whsec_de_0123456789'], orderIdPaths: [['metadata', 'cart']] },
      ],
      toleranceSeconds: 300,
      allowedCidrs: ['0.0.0.0/0', '::/0'],
      bodyLimitBytes: 1_048_576,
      apiUrl: 'https://api.stripe.com',
    });
  });

  it.each([
    [{ STRIPE_ENDPOINTS: 'x' }, 'STRIPE_ENDPOINTS: is not valid JSON'],
    [{ STRIPE_ENDPOINTS: '[]' }, 'STRIPE_ENDPOINTS: must be a non-empty JSON array of endpoints'],
    [{ STRIPE_ENDPOINTS: endpoints([{ id: 'a b', secrets: ['whsec_0123456789'] }]) }, 'STRIPE_ENDPOINTS: entry 0: id must name the endpoint'],
    [{ STRIPE_ENDPOINTS: endpoints([{ id: 'a', secrets: [] }]) }, 'STRIPE_ENDPOINTS: endpoint a: secrets must list its whsec_ signing secret(s)'],
    [{ STRIPE_ENDPOINTS: endpoints([{ id: 'a', secrets: ['sk_live_123456789'] }]) }, 'STRIPE_ENDPOINTS: endpoint a: every secret must be a whsec_ signing secret without spaces'],
    [{ STRIPE_ENDPOINTS: endpoints([{ id: 'a', secrets: ['whsec_0123456789'], orderIdPath: 'metadata..x' }]) }, 'STRIPE_ENDPOINTS: endpoint a: orderIdPath must be a dotted path'],
    [{ STRIPE_ENDPOINTS: endpoints([{ id: 'a', secrets: ['whsec_0123456789'], apiKey: 'pk_live_0123456789' }]) }, 'STRIPE_ENDPOINTS: endpoint a: apiKey must be a restricted key (rk_live_…, rk_test_…) that reads Events'],
    [{ STRIPE_API_URL: 'https://api.stripe.com/v1' }, 'STRIPE_API_URL: must be a scheme and host, such as https://api.stripe.com'],
    [{ STRIPE_ENDPOINTS: endpoints([{ id: 'a', secrets: ['whsec_0123456789'], secret: 'x' }]) }, 'STRIPE_ENDPOINTS: entry 0 has unknown field(s) secret'],
    [{ STRIPE_ENDPOINTS: endpoints([{ id: 'a', secrets: ['whsec_0123456789'] }, { id: 'a', secrets: ['whsec_9876543210'] }]) }, 'STRIPE_ENDPOINTS: endpoint a appears twice'],
    [{ STRIPE_TOLERANCE_SECONDS: '0' }, 'STRIPE_TOLERANCE_SECONDS: must be between 1 and 3600'],
    [{ STRIPE_BODY_LIMIT_BYTES: '100' }, 'STRIPE_BODY_LIMIT_BYTES: must be between 1024 and 16777216'],
    [{ STRIPE_ALLOWED_CIDRS: 'stripe.com' }, 'STRIPE_ALLOWED_CIDRS'],
  ])('%o → %s', (env, message) => {
    expect(configError(env).message).toContain(message);
  });
});

describe('Payline configuration', () => {
  const merchants = (entries: unknown[]) => JSON.stringify(entries);

  it('production with PAYLINE_MERCHANTS alone: the directory and default endpoint of the environment', () => {
    const config = loadConfig({ NODE_ENV: 'production', PAYLINE_MERCHANTS: merchants([{ merchantId: '12345678901234', accessKey: ' key ', contracts: ['1234567'] }, { merchantId: 'homo-1', accessKey: 'k', environment: 'homologation' }]) });
    expect(config.payline).toEqual({
      fetches: { perSource: 300, total: 3000 },
      merchants: [
        { merchantId: '12345678901234', accessKey: 'key', environment: 'production', directoryUrl: 'https://payment.payline.com/services/servicesendpoints/SOAP/12345678901234', defaultUrl: 'https://services.payline.com/V4/services/', contracts: ['1234567'] },
        { merchantId: 'homo-1', accessKey: 'k', environment: 'homologation', directoryUrl: 'https://homologation-payment.payline.com/services/servicesendpoints/SOAP/homo-1', defaultUrl: 'https://homologation.payline.com/V4/services/', contracts: [] },
      ],
      connectTimeoutMs: 1500,
      allowedCidrs: ['0.0.0.0/0', '::/0'],
    });
    expect(loadConfig({}).payline?.merchants.map((m) => m.merchantId)).toEqual(['demo']);
  });

  it.each([
    [{ PAYLINE_MERCHANTS: '[]' }, 'PAYLINE_MERCHANTS: must be a non-empty JSON array of merchants'],
    [{ PAYLINE_MERCHANTS: merchants([{ merchantId: 'a b', accessKey: 'k' }]) }, 'PAYLINE_MERCHANTS: entry 0: merchantId must be your Payline merchant id'],
    [{ PAYLINE_MERCHANTS: merchants([{ merchantId: 'm', accessKey: '' }]) }, 'PAYLINE_MERCHANTS: merchant m: accessKey must be the access key'],
    [{ PAYLINE_MERCHANTS: merchants([{ merchantId: 'm', accessKey: 'k', environment: 'test' }]) }, 'PAYLINE_MERCHANTS: merchant m: environment must be homologation or production'],
    [{ PAYLINE_MERCHANTS: merchants([{ merchantId: 'm', accessKey: 'k', contracts: '123' }]) }, 'PAYLINE_MERCHANTS: merchant m: contracts must be a list'],
    [{ PAYLINE_MERCHANTS: merchants([{ merchantId: 'm', accessKey: 'k', directoryUrl: 'payline' }]) }, 'PAYLINE_MERCHANTS: merchant m: directoryUrl must be an http(s) URL'],
    [{ PAYLINE_MERCHANTS: merchants([{ merchantId: 'm', accessKey: 'k' }, { merchantId: 'm', accessKey: 'j' }]) }, 'PAYLINE_MERCHANTS: merchant m appears twice'],
    [{ PAYLINE_CONNECT_TIMEOUT_MS: '20000' }, 'PAYLINE_CONNECT_TIMEOUT_MS: must be between 50 and 10000'],
  ])('%o → %s', (env, message) => {
    expect(configError(env).message).toContain(message);
  });
});

describe('TRUST_PROXY', () => {
  it('follows Express semantics', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });
});

describe('declaration and documentation of the configuration', () => {
  const read = (file: string) => readFileSync(join(__dirname, '..', file), 'utf8');
  const declared = new Set(CONFIGURATION_AREAS.flatMap((area) => Object.values(area.variables).map((v) => v.name)));

  it('declares every variable loadConfig reads, once', () => {
    const names = CONFIGURATION_AREAS.flatMap((area) => Object.values(area.variables).map((v) => v.name));
    expect(names.length).toBe(declared.size);
    const asked = new Set<string>();
    const env = new Proxy({ ORDER_EVENTS_URL: 'https://o/', ORDER_EVENTS_SECRET: SECRET } as Record<string, string>, {
      get: (target, name: string) => {
        asked.add(name.replace(/_FILE$/, ''));
        return target[name];
      },
    });
    loadConfig(env);
    expect([...asked].filter((name) => !declared.has(name))).toEqual([]);
    expect([...declared].filter((name) => !asked.has(name))).toEqual([]);
  });

  it('names every provider variable in the production rule', () => {
    expect(configError({ NODE_ENV: 'production' }).message).toContain('unless PAYBOX_SITES, STRIPE_ENDPOINTS or PAYLINE_MERCHANTS is set');
  });

  it('docs/configuration.md and .env.example are the ones generated from the declarations (npm run docs:config)', () => {
    const doc = read('docs/configuration.md');
    expect(doc.slice(0, doc.indexOf(GENERATED_END) + GENERATED_END.length + 1)).toBe(configurationHead());
    expect(read('.env.example')).toBe(envExample());
  });

  it('documents every declared variable in both', () => {
    const example = read('.env.example');
    const doc = read('docs/configuration.md');
    for (const name of declared) {
      expect({ name, inExample: new RegExp(`^#?\\s*${name}=`, 'm').test(example), inDoc: doc.includes(`| \`${name}\` |`) }).toEqual({ name, inExample: true, inDoc: true });
    }
  });
});
