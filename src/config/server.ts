import proxyaddr from 'proxy-addr';
import { parseCidrList } from '../lib/cidr';
import { integer, oneOf, parsed, text } from '../lib/variables';

/** Express `trust proxy`: true/false, a hop count, or addresses/ranges/names (`loopback`, `uniquelocal`…). */
export type TrustProxy = boolean | number | string;

export function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  proxyaddr.compile(parseCidrList(raw));
  return raw;
}

/** The process: its role, where it listens, its logs, how it treats slow clients. */
export const SERVER_VARIABLES = {
  nodeEnv: text('NODE_ENV', {
    description: '`production` turns every development default off: a provider variable becomes required and loopback no longer calls `/ipn/*`',
    example: 'production',
  }),
  role: oneOf('ROLE', ['all', 'receiver', 'relay'], 'all', {
    description: '`all` (receiver and relay in one process), `receiver` (HTTP only) or `relay` (delivery only); processes of each role share one database, the embedded one included',
  }),
  port: integer('PORT', 3000, 0, 65535, { description: 'port to listen on', example: '3000' }),
  host: text('HOST', { description: 'address to listen on', example: '0.0.0.0' }, '0.0.0.0'),
  logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', { description: 'pino log level' }),
  trustProxy: parsed<TrustProxy>('TRUST_PROXY', false, 'false', parseTrustProxy, {
    description: 'the proxies in front of the service, as Express\'s `trust proxy` reads them: `false`, `true`, a hop count, or their addresses, CIDRs or `loopback`; the client address the allowlists check comes from it',
  }),
  headersTimeoutMs: integer('HTTP_HEADERS_TIMEOUT_MS', 10_000, 500, 120_000, { description: 'a client slower than this for its headers is cut' }),
  requestTimeoutMs: integer('HTTP_REQUEST_TIMEOUT_MS', 15_000, 1000, 300_000, { description: 'a client slower than this for its whole request is cut; above `HTTP_HEADERS_TIMEOUT_MS`' }),
  maxConnections: integer('MAX_CONNECTIONS', 1024, 1, 100_000, { description: 'open connections beyond this are dropped at once' }),
};
