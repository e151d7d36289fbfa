export interface Selection {
  /** What is selected, for the messages: `Paybox site`. */
  noun: string;
  /** How the parameter's value is written: `<site>-<rang>`. */
  placeholder: string;
  /** Where the merchant adds the parameter: `PBX_REPONDRE_A`. */
  url: string;
}

/**
 * The configured entry a URL parameter names (a merchant parameter of the notification URL, which
 * the platform does not sign: it only selects configuration), the only entry when there is one,
 * or the reason none can be chosen.
 */
export function selectByParameter<T>(query: string, parameter: string, entries: ReadonlyMap<string, T>, selection: Selection): T | string {
  const requested = new URLSearchParams(query).get(parameter);
  if (requested !== null) return entries.get(requested) ?? `unknown ${selection.noun} ${requested.slice(0, 40)}`;
  if (entries.size === 1) return entries.values().next().value as T;
  return `several ${selection.noun}s are configured: add ${parameter}=${selection.placeholder} to ${selection.url}`;
}
