import type { Config } from '../config';
import type { Provider } from '../domain/notification';
import { createAllowlist } from '../lib/cidr';
import { handleLyraNotification } from '../providers/lyra';
import type { IpnProvider } from './ipn';

/** Every provider the service receives, by name: the routes and the replay use the same ones. */
export function createProviders(config: Config): Map<Provider, IpnProvider> {
  const lyra: IpnProvider = {
    name: 'lyra',
    allowlist: createAllowlist(config.lyra.allowedCidrs),
    handle: (body) => handleLyraNotification(body, config.lyra.shops),
  };
  return new Map([[lyra.name, lyra]]);
}
