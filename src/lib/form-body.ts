export type FormParseResult = { ok: true; fields: Record<string, string> } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode an `application/x-www-form-urlencoded` body with `URLSearchParams` semantics
 * (`+` is a space, percent-escapes are UTF-8). A field sent twice is refused: two parsers
 * could read different values from it, and the platforms never repeat a field.
 */
export function parseFormBody(body: Uint8Array, maxFields = 1000): FormParseResult {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, reason: 'body is not valid UTF-8' };
  }
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  for (const [name, value] of new URLSearchParams(text)) {
    if (++count > maxFields) return { ok: false, reason: `more than ${maxFields} fields` };
    if (name in fields) return { ok: false, reason: `field ${truncate(name)} is repeated` };
    fields[name] = value;
  }
  return { ok: true, fields };
}

function truncate(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}
