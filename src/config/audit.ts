import { operatorToken, parseApiTokens, type OperatorToken } from '../audit/tokens';
import { ConfigError, parsed } from '../lib/variables';

/** The operator log's name of the token given as `AUDIT_API_TOKEN`. */
export const AUDIT_TOKEN_NAME = 'audit-api-token';

function auditToken(raw: string): OperatorToken {
  if (raw.length < 32) throw new Error('must be at least 32 characters: it opens every payment record');
  return operatorToken(AUDIT_TOKEN_NAME, raw, ['read', 'replay']);
}

/** Who may open the audit API; with neither variable set it is off (404). */
export const AUDIT_VARIABLES = {
  apiTokens: parsed<OperatorToken[]>('API_TOKENS', [], 'unset', parseApiTokens, {
    description: 'operator tokens of the audit API, a JSON array of `{ "name", "tokenSha256" (or "token"), "scopes": ["read", "replay", "operate"] }` ([audit-api.md](audit-api.md)); with `AUDIT_API_TOKEN` unset too, the API is off (404)',
    secret: true,
  }),
  auditApiToken: parsed<OperatorToken | undefined>('AUDIT_API_TOKEN', undefined, 'unset', auditToken, {
    description: 'one more operator token, 32 characters or more, with the scopes `read` and `replay`',
    secret: true,
  }),
};

/**
 * The demo's operator token, for the simulator's Paybox Direct operations: written here, so
 * known to anyone, and therefore accepted from loopback only, and only with the demo
 * configuration and no token of your own.
 */
export const DEMO_OPERATOR_TOKEN = 'demo-operator-token-for-the-simulator-on-this-machine';

/** `API_TOKENS`, and `AUDIT_API_TOKEN` as one more token that reads and replays; the demo's own when there is neither. */
export function operatorTokens(values: { apiTokens: OperatorToken[]; auditApiToken: OperatorToken | undefined }, demo = false): OperatorToken[] {
  if (demo && values.apiTokens.length === 0 && values.auditApiToken === undefined) return [{ ...operatorToken('demo', DEMO_OPERATOR_TOKEN, ['read', 'replay', 'operate']), loopbackOnly: true }];
  if (values.auditApiToken === undefined) return values.apiTokens;
  if (values.apiTokens.some((t) => t.name === AUDIT_TOKEN_NAME)) throw new ConfigError('API_TOKENS', `the name ${AUDIT_TOKEN_NAME} is that of AUDIT_API_TOKEN`);
  return [...values.apiTokens, values.auditApiToken];
}
