import type { KeyObject } from 'node:crypto';
import { cidrs, failFor, httpUrl, integer, parsed, parseEntries, text, type EntryRecord } from '../../lib/variables';
import type { DirectAccess, DirectVersion } from './direct';
import { PAYBOX_PLATFORM_PUBLIC_KEY } from './platform-key';
import { parsePayboxPublicKeys } from './signature';
import { parsePayboxReturn, PayboxConfigError, type PayboxSite } from './sites';

/** The URL parameter of PBX_REPONDRE_A that says which site a call is for, when there are several. */
export const SITE_PARAMETER = 'site';

/**
 * Paybox IPN source addresses. The manual V8.0 lists production 194.2.122.158, 194.2.122.190,
 * 195.25.7.166, 195.25.67.22 and pre-production 195.101.99.76; the platform renewal announced
 * 62.161.13.193 and 62.161.15.193 (Paybox's integration manual V8.0, "adresses IP"; changed since by Verifone's platform renewal). The list has changed over time:
 * PAYBOX_ALLOWED_CIDRS overrides it, and the signature is what proves a call.
 */
export const PAYBOX_DEFAULT_CIDRS = ['62.161.13.193/32', '62.161.15.193/32', '194.2.122.158/32', '194.2.122.190/32', '195.25.7.166/32', '195.25.67.22/32', '195.101.99.76/32'];

/**
 * Paybox Direct's hosts, tried in this order (the official Verifone plugins' `PayboxConfig`
 * URLs, https://github.com/PayboxByVerifone): production's primary and its backup `ppps1`, and
 * the pre-production host of a site in TEST mode.
 */
export const PAYBOX_DIRECT_URLS = {
  PRODUCTION: ['https://ppps.paybox.com/PPPS.php', 'https://ppps1.paybox.com/PPPS.php'],
  TEST: ['https://preprod-ppps.paybox.com/PPPS.php'],
} as const;

/** Where the simulator's fake Paybox Direct listens: the demo site's Direct URLs point there. */
export const DEMO_PAYBOX_DIRECT_PORT = 3902;

/** Paybox's public test site and rang; the demo trusts the simulator's key (keys/paybox/). */
export const DEMO_PAYBOX_SITE = {
  site: '1999888',
  rang: '32',
  retour: 'Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K',
  mode: 'TEST',
  // A key made for the demo: the fake Paybox Direct knows it, Paybox does not.
  directHmacKey: '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF',
  directUrls: [`http://127.0.0.1:${DEMO_PAYBOX_DIRECT_PORT}/primary/PPPS.php`, `http://127.0.0.1:${DEMO_PAYBOX_DIRECT_PORT}/secondary/PPPS.php`],
} as const;
/** Public half of keys/paybox/simulator-private.pem: generated for this project, trusted only by the demo. */
export const DEMO_PAYBOX_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCq33WxOLR0sQfAMsPr2cJNDe1L
3KqrdLTGxGe/tmi3ROp5duPHsRIu3QY6jM5m0+JpADvPg/2wy0EbvnFFGMm/GlYC
xIiae4GyfUXM4x9iS45RKguf6P3A0WjRn6NK3prLfwbzu12Bd02vOwtOClXV1qhI
i3SXXdUlJ41ApdD6LwIDAQAB
-----END PUBLIC KEY-----
`;

const PAYBOX_SITE_FIELDS = new Set(['site', 'rang', 'retour', 'mode', 'currency', 'capture', 'directHmacKey', 'directUrls', 'directVersion']);

/** Paybox Direct for a site: off without its HMAC key; the manual's hosts unless others are named. */
function directAccess(record: EntryRecord, id: string, site: string, rang: string, mode: PayboxSite['mode'], fail: (message: string) => never): DirectAccess | null {
  const { directHmacKey: key, directUrls: urls, directVersion: version = '00103' } = record;
  if (key === undefined) {
    if (urls !== undefined || record.directVersion !== undefined) fail(`site ${id}: directUrls and directVersion need directHmacKey`);
    return null;
  }
  // The back office shows the key as hexadecimal; 128 digits (64 bytes) as Paybox generates it.
  if (typeof key !== 'string' || !/^(?:[0-9A-Fa-f]{2}){16,128}$/.test(key)) return fail(`site ${id}: directHmacKey must be the HMAC key in hexadecimal, as the Paybox back office shows it`);
  if (version !== '00103' && version !== '00104') return fail(`site ${id}: directVersion must be 00103 (Paybox Direct) or 00104 (Paybox Direct Plus)`);
  if (urls !== undefined && (!Array.isArray(urls) || urls.length === 0)) return fail(`site ${id}: directUrls must be a non-empty list of URLs`);
  const list = urls === undefined ? [...PAYBOX_DIRECT_URLS[mode]] : (urls as unknown[]).map((url, n) => httpUrl(url, fail, `site ${id}: directUrls[${n}]`));
  return { site, rang, version: version as DirectVersion, hmacKeyHex: key.toUpperCase(), urls: list };
}

function payboxSite(record: EntryRecord, index: number): PayboxSite {
  const fail = failFor('PAYBOX_SITES');
  const asText = (value: unknown) => (typeof value === 'number' ? String(value) : value);
  const site = asText(record.site);
  const rang = asText(record.rang);
  if (typeof site !== 'string' || !/^\d{1,10}$/.test(site)) return fail(`entry ${index}: site must be the Paybox site number (PBX_SITE)`);
  if (typeof rang !== 'string' || !/^\d{1,3}$/.test(rang)) return fail(`entry ${index}: rang must be the Paybox rank number (PBX_RANG)`);
  const id = `${site}-${rang}`;
  if (typeof record.retour !== 'string') return fail(`site ${id}: retour must be the PBX_RETOUR you send, e.g. Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K`);
  let retour: PayboxSite['retour'];
  try {
    retour = parsePayboxReturn(record.retour);
  } catch (error) {
    if (error instanceof PayboxConfigError) return fail(`site ${id}: retour ${error.message}`);
    throw error;
  }
  if (retour.names.includes(SITE_PARAMETER)) fail(`site ${id}: retour must not name a variable "${SITE_PARAMETER}": that URL parameter selects the site`);
  const mode = record.mode ?? 'PRODUCTION';
  if (mode !== 'TEST' && mode !== 'PRODUCTION') fail(`site ${id}: mode must be TEST or PRODUCTION`);
  const currency = record.currency ?? 'EUR';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) fail(`site ${id}: currency must be an ISO 4217 code such as EUR`);
  const capture = record.capture ?? 'immediate';
  if (capture !== 'immediate' && capture !== 'deferred') fail(`site ${id}: capture must be immediate, or deferred when the site sends PBX_AUTOSEULE or PBX_DIFF`);
  const direct = directAccess(record, id, site, rang, mode as PayboxSite['mode'], fail);
  return { id, site, rang, mode: mode as PayboxSite['mode'], currency: currency as string, retour, capture: capture as PayboxSite['capture'], direct };
}

export function parsePayboxSites(raw: string): Map<string, PayboxSite> {
  return parseEntries('PAYBOX_SITES', raw, 'site', PAYBOX_SITE_FIELDS, payboxSite, (site) => site.id);
}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g;

/**
 * `PAYBOX_PUBLIC_KEYS`: PEM blocks written in the variable (newlines may be written `\n`), or
 * paths of PEM files separated by commas, read with `readText`. Unset: the platform key shipped
 * in the official plugins.
 */
export function payboxPublicKeys(raw: string | undefined, readText: (path: string) => string): KeyObject[] {
  const fail = failFor('PAYBOX_PUBLIC_KEYS');
  if (raw === undefined) return parsePayboxPublicKeys([PAYBOX_PLATFORM_PUBLIC_KEY]);
  let pems = raw.replace(/\\n/g, '\n');
  if (!pems.includes('-----BEGIN')) {
    pems = raw
      .split(',')
      .map((path) => path.trim())
      .filter((path) => path !== '')
      .map((path) => {
        try {
          return readText(path);
        } catch {
          return fail(`cannot read ${path}`);
        }
      })
      .join('\n');
  }
  const blocks = pems.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) fail('holds no PEM public key (-----BEGIN PUBLIC KEY-----)');
  try {
    return parsePayboxPublicKeys(blocks);
  } catch (error) {
    return fail(`a key does not parse: ${(error as Error).message}`);
  }
}

export const PAYBOX_VARIABLES = {
  sites: parsed<Map<string, PayboxSite> | undefined>('PAYBOX_SITES', undefined, 'the demo site in development without any provider', parsePayboxSites, {
    description: 'Paybox / Up2pay e-Transactions sites, a JSON array of `{ "site", "rang", "retour", "mode", "currency", "capture", "directHmacKey", "directUrls", "directVersion" }` ([docs](providers/paybox.md)); unset: no `/ipn/paybox`',
    secret: true,
  }),
  /** Parsed by `payboxPublicKeys` once read: the paths it may name are files to read. */
  publicKeys: text('PAYBOX_PUBLIC_KEYS', {
    description: 'the platform\'s public keys, any one of which may verify: PEM values (newlines may be written `\\n`), or paths of PEM files separated by commas',
    shownDefault: 'the platform key shipped in the official plugins',
  }),
  allowedCidrs: cidrs('PAYBOX_ALLOWED_CIDRS', PAYBOX_DEFAULT_CIDRS, 'the documented IPN addresses ([docs](providers/paybox.md)) (+ loopback in the demo)', {
    description: 'comma-separated addresses and CIDR ranges allowed to call `/ipn/paybox`',
  }),
  directTimeoutMs: integer('PAYBOX_DIRECT_TIMEOUT_MS', 20_000, 1000, 120_000, {
    description: 'bounds one Paybox Direct request (capture, refund, cancel, inquiry), connection to the last byte of the answer',
  }),
};

export interface PayboxConfig {
  sites: Map<string, PayboxSite>;
  /** PAYBOX_DIRECT_TIMEOUT_MS: one Paybox Direct request, connection to the last byte. */
  directTimeoutMs: number;
  /** The platform's public keys; any one may verify (the platform rotates keys). */
  publicKeys: KeyObject[];
  allowedCidrs: string[];
}

/** Paybox when PAYBOX_SITES is set, or Paybox's test site trusting the simulator's key in the demo. */
export function payboxConfig(values: { sites: Map<string, PayboxSite> | undefined; publicKeys: KeyObject[]; allowedCidrs: string[]; directTimeoutMs: number }, demo: { loopback: string[] } | null): PayboxConfig | undefined {
  if (values.sites !== undefined) return { sites: values.sites, publicKeys: values.publicKeys, allowedCidrs: values.allowedCidrs, directTimeoutMs: values.directTimeoutMs };
  if (demo === null) return undefined;
  return {
    sites: parsePayboxSites(JSON.stringify([DEMO_PAYBOX_SITE])),
    directTimeoutMs: values.directTimeoutMs,
    publicKeys: [...values.publicKeys, ...parsePayboxPublicKeys([DEMO_PAYBOX_PUBLIC_KEY])],
    allowedCidrs: [...values.allowedCidrs, ...demo.loopback],
  };
}
