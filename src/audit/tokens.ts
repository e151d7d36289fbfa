import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Operator tokens of the audit API. Each has a name (what the operator log records, never the
 * token) and scopes: `read` the records, `replay` calls and retry events, `operate` on orders
 * (erasure, and the platform operations to come). Only the SHA-256 of a token need be configured,
 * so the configuration itself opens nothing; several may be valid at once, so one is rotated by
 * adding the new one, moving the clients, then removing the old one.
 */
export const SCOPES = ['read', 'replay', 'operate'] as const;
export type Scope = (typeof SCOPES)[number];

export interface OperatorToken {
  name: string;
  sha256: Buffer;
  scopes: ReadonlySet<Scope>;
  /** The demo's token, known to all: valid from this machine only. */
  loopbackOnly?: true;
}

export class TokenConfigError extends Error {}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const MIN_TOKEN_LENGTH = 32;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** A token given in clear (`AUDIT_API_TOKEN`, or `token` in `API_TOKENS`). */
export function operatorToken(name: string, token: string, scopes: readonly Scope[]): OperatorToken {
  if (token.length < MIN_TOKEN_LENGTH) throw new TokenConfigError(`token ${name} must be at least ${MIN_TOKEN_LENGTH} characters: it opens payment records`);
  return { name, sha256: sha256(token), scopes: new Set(scopes) };
}

function parseEntry(entry: unknown, index: number): OperatorToken {
  const fail = (message: string): never => {
    throw new TokenConfigError(`entry ${index}: ${message}`);
  };
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail('must be an object');
  const { name, token, tokenSha256, scopes, ...rest } = entry as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) fail(`unknown field ${unknown[0]}; expected name, tokenSha256 (or token), scopes`);
  if (typeof name !== 'string' || !NAME.test(name)) fail('name must be 1 to 64 letters, digits, dots, dashes or underscores');
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => (SCOPES as readonly unknown[]).includes(s))) fail(`scopes must list some of ${SCOPES.join(', ')}`);
  const granted = scopes as Scope[];
  if ((token === undefined) === (tokenSha256 === undefined)) fail('give exactly one of tokenSha256 and token');
  if (typeof token === 'string') return operatorToken(name as string, token, granted);
  if (typeof tokenSha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(tokenSha256)) return fail('tokenSha256 must be the 64 hex digits of the SHA-256 of the token');
  return { name: name as string, sha256: Buffer.from(tokenSha256, 'hex'), scopes: new Set(granted) };
}

/** `API_TOKENS`: a JSON array of `{ "name", "tokenSha256" | "token", "scopes" }`. */
export function parseApiTokens(raw: string): OperatorToken[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new TokenConfigError('is not valid JSON');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new TokenConfigError('must be a non-empty JSON array');
  const tokens = parsed.map(parseEntry);
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.name)) throw new TokenConfigError(`name ${t.name} appears twice`);
    names.add(t.name);
  }
  return tokens;
}

/**
 * The token a bearer credential is, or null. Every configured token is compared, in constant
 * time, whatever matches: the time taken says nothing of which token came close.
 */
export function authenticate(tokens: readonly OperatorToken[], given: string): OperatorToken | null {
  const digest = sha256(given);
  let found: OperatorToken | null = null;
  for (const token of tokens) if (timingSafeEqual(token.sha256, digest) && found === null) found = token;
  return found;
}
