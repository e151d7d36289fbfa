import { z } from 'zod';
import { createAllowlist, parseCidrList } from './cidr';

/**
 * The declaration of an environment variable: its schema (zod) and what the documentation says of
 * it. Every variable is declared once, in its area's module (providers' beside their provider);
 * `docs/configuration.md` and `.env.example` are generated from the declarations
 * (`npm run docs:config`). Declaring is pure: reading the environment is `src/config/`'s.
 */
export interface Variable<T> {
  name: string;
  /** One sentence or two: the table's "meaning" column and the comment of `.env.example`. */
  description: string;
  /** The value when unset. */
  fallback: T;
  /** The default as the documentation shows it (a demo, a list, "unset"). */
  shownDefault: string;
  /** The line `.env.example` gives it; unset: written commented out with its default. */
  example?: string;
  /** A secret (key, password, token): may be read from the file named by `<NAME>_FILE`, and is never logged. */
  secret: boolean;
  /** Parses the trimmed, non-empty text of the variable. */
  schema: z.ZodType<T, string>;
}

/** A variable that is wrong: the message names it and says what is wrong. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

type Meta = { description: string; shownDefault?: string; example?: string; secret?: boolean };

/** The value of `raw` for `variable`, or a `ConfigError` naming it with zod's first issue. */
export function parseVariable<T>(variable: Variable<T>, raw: string | undefined): T {
  if (raw === undefined || raw === '') return variable.fallback;
  const parsed = variable.schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(variable.name, parsed.error.issues[0]?.message ?? 'is invalid');
}

/** A whole number in [min, max]. */
export function integer(name: string, fallback: number, min: number, max: number, meta: Meta): Variable<number> {
  const schema = z
    .string()
    .regex(/^\d+$/, { error: (issue) => `must be a whole number, got "${String(issue.input)}"` })
    .transform(Number)
    .pipe(z.number().min(min, { error: (issue) => `must be between ${min} and ${max}, got ${String(issue.input)}` }).max(max, { error: (issue) => `must be between ${min} and ${max}, got ${String(issue.input)}` }));
  return declare(name, fallback, String(fallback), schema, meta);
}

/** One of `values`. */
export function oneOf<const V extends string>(name: string, values: readonly [V, ...V[]], fallback: V, meta: Meta): Variable<V> {
  const schema = z.enum(values, { error: (issue) => `must be one of ${values.join(', ')}, got "${String(issue.input)}"` });
  return declare(name, fallback, fallback, schema, meta);
}

/** Free text, or undefined when unset. */
export function text(name: string, meta: Meta): Variable<string | undefined>;
export function text(name: string, meta: Meta, fallback: string): Variable<string>;
export function text(name: string, meta: Meta, fallback?: string): Variable<string | undefined> {
  return declare(name, fallback, fallback ?? 'unset', z.string(), meta);
}

/**
 * Text parsed by `parse`, which throws a `ConfigError` (or any error: its message is kept) to
 * refuse it. For the JSON arrays of accounts, lists of addresses, URLs and keys.
 */
export function parsed<T>(name: string, fallback: T, shownDefault: string, parse: (raw: string) => T, meta: Meta): Variable<T> {
  const schema = z.string().transform((raw, context) => {
    try {
      return parse(raw);
    } catch (error) {
      const message = error instanceof ConfigError ? error.message.slice(error.variable.length + 2) : (error as Error).message;
      context.issues.push({ code: 'custom', message, input: raw });
      return z.NEVER;
    }
  });
  return declare(name, fallback, shownDefault, schema, meta);
}

function declare<T>(name: string, fallback: T, shownDefault: string, schema: z.ZodType<T, string>, meta: Meta): Variable<T> {
  return { name, fallback, schema, description: meta.description, shownDefault: meta.shownDefault ?? shownDefault, example: meta.example, secret: meta.secret ?? false };
}

export type EntryRecord = Record<string, unknown>;

/** Throws a `ConfigError` naming `variable`: for the parsers of one variable's entries. */
export function failFor(variable: string): (message: string) => never {
  return (message) => {
    throw new ConfigError(variable, message);
  };
}

/**
 * A JSON array of configuration entries (shops, sites, endpoints, merchants): each an object of
 * known fields, parsed by `parse`, unique by `keyOf`. Every error names the variable and the entry.
 */
export function parseEntries<T>(variable: string, raw: string, noun: string, fields: ReadonlySet<string>, parse: (record: EntryRecord, index: number) => T, keyOf: (entry: T) => string): Map<string, T> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(variable, 'is not valid JSON');
  }
  if (!Array.isArray(json) || json.length === 0) throw new ConfigError(variable, `must be a non-empty JSON array of ${noun}s`);
  const entries = new Map<string, T>();
  json.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(variable, `entry ${index} is not an object`);
    const unknown = Object.keys(entry).filter((k) => !fields.has(k));
    if (unknown.length > 0) throw new ConfigError(variable, `entry ${index} has unknown field(s) ${unknown.join(', ')}`);
    const value = parse(entry as EntryRecord, index);
    if (entries.has(keyOf(value))) throw new ConfigError(variable, `${noun} ${keyOf(value)} appears twice`);
    entries.set(keyOf(value), value);
  });
  return entries;
}

/** A full URL of a platform's API: `https`, or `http` for tests and internal proxies. */
export function httpUrl(value: unknown, fail: (message: string) => never, what: string): string {
  if (typeof value !== 'string' || !/^https?:\/\/\S+$/.test(value)) return fail(`${what} must be an http(s) URL`);
  return value;
}

/** The scheme and host of an API whose paths the service appends; `example` shows one. */
export function apiOrigin(raw: string, example: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`must be a scheme and host, such as ${example}`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search !== '' || url.username !== '') throw new Error(`must be a scheme and host, such as ${example}`);
  return url.origin;
}

/** Comma-separated addresses and CIDR ranges, checked as an allowlist would read them. */
export function cidrs(name: string, fallback: string[], shownDefault: string, meta: Meta): Variable<string[]> {
  return parsed(name, fallback, shownDefault, (raw) => {
    const entries = parseCidrList(raw);
    createAllowlist(entries);
    return entries;
  }, meta);
}
