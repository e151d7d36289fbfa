import { BlockList, isIP } from 'node:net';

export interface Allowlist {
  allows(address: string | undefined): boolean;
  readonly entries: readonly string[];
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:194.50.38.1` (an IPv4 client on a dual-stack socket) is the IPv4 address it carries. */
export function unmapIPv4(address: string): string {
  return IPV4_MAPPED.exec(address)?.[1] ?? address;
}

/** Parse `194.50.38.0/24, 2001:db8::/32, 10.0.0.1` (a bare address is a single host). Throws on a bad entry. */
export function createAllowlist(entries: readonly string[]): Allowlist {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefixText, extra] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) throw new Error(`"${entry}" has an invalid prefix length`);
    list.addSubnet(address, prefix, type);
  }
  const check = (address: string): boolean => {
    const plain = unmapIPv4(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
  // A check builds a SocketAddress each time; platforms and floods come from few addresses, so
  // their verdicts are kept, in a map emptied when full so that spoofed addresses cannot grow it.
  const verdicts = new Map<string, boolean>();
  return {
    entries: [...entries],
    allows(address) {
      if (address === undefined) return false;
      let verdict = verdicts.get(address);
      if (verdict === undefined) {
        verdict = check(address);
        if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
        verdicts.set(address, verdict);
      }
      return verdict;
    },
  };
}

const VERDICTS_KEPT = 4096;

export function parseCidrList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Every address: the default of a platform that publishes no stable source addresses (the signature proves a call). */
export const ANY_SOURCE_CIDRS = ['0.0.0.0/0', '::/0'];
export const LOOPBACK_CIDRS = ['127.0.0.0/8', '::1/128'];
