import { ConfigError, DEMO_LYRA_SHOP, loadConfig, parseTrustProxy } from '../src/config';

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
    expect([...config.lyra.shops.values()]).toEqual([DEMO_LYRA_SHOP]);
    expect(config.lyra.allowedCidrs).toEqual(['194.50.38.0/24', '127.0.0.0/8', '::1/128']);
    expect(config).toMatchObject({ port: 3000, host: '0.0.0.0', ipnDeadlineMs: 5000, ipnBodyLimitBytes: 65536, trustProxy: false, dataDir: './data', databaseUrl: undefined });
  });

  it('production without LYRA_SHOPS stops with a message naming the variable', () => {
    expect(configError({ NODE_ENV: 'production' }).message).toMatch(/^LYRA_SHOPS: is required in production/);
  });

  it('with LYRA_SHOPS nothing is defaulted: no demo shop, no loopback', () => {
    const config = loadConfig({ NODE_ENV: 'production', LYRA_SHOPS: '[{"shopId":"11112222","productionKey":" k "}]' });
    expect(config.demoDefaults).toBe(false);
    expect(config.lyra.allowedCidrs).toEqual(['194.50.38.0/24']);
    expect(config.lyra.shops.get('11112222')).toEqual({ shopId: '11112222', algorithm: 'HMAC-SHA-256', productionKey: 'k' });
  });

  it.each([
    [{ LYRA_SHOPS: 'nope' }, 'LYRA_SHOPS: is not valid JSON'],
    [{ LYRA_SHOPS: '[]' }, 'LYRA_SHOPS: must be a non-empty JSON array of shops'],
    [{ LYRA_SHOPS: '[{"shopId":"1","prodKey":"x"}]' }, 'LYRA_SHOPS: entry 0 has unknown field(s) prodKey'],
    [{ LYRA_SHOPS: '[{"shopId":"1"}]' }, 'LYRA_SHOPS: shop 1 has no key nor password'],
    [{ LYRA_SHOPS: '[{"shopId":"1","testKey":"a","algorithm":"MD5"}]' }, 'LYRA_SHOPS: shop 1: algorithm must be "HMAC-SHA-256" or "SHA-1"'],
    [{ LYRA_SHOPS: '[{"shopId":"1","testKey":"a"},{"shopId":"1","testKey":"b"}]' }, 'LYRA_SHOPS: shop 1 appears twice'],
    [{ LYRA_ALLOWED_CIDRS: '194.50.38.0/33' }, 'LYRA_ALLOWED_CIDRS: "194.50.38.0/33" has an invalid prefix length'],
    [{ LYRA_ALLOWED_CIDRS: 'example.com' }, 'LYRA_ALLOWED_CIDRS: "example.com" is not an IP address or CIDR range'],
    [{ PORT: 'eighty' }, 'PORT: must be a whole number, got "eighty"'],
    [{ IPN_DEADLINE_MS: '20000' }, 'IPN_DEADLINE_MS: must be between 100 and 9000, got 20000'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: must start with postgres:// or postgresql://'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent'],
    [{ TRUST_PROXY: 'not-an-address' }, 'TRUST_PROXY'],
  ])('%o → %s', (env, message) => {
    expect(configError(env).message).toContain(message);
  });

  it('TRUST_PROXY follows Express semantics', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });
});
