import { parseRetryAfter } from './retry-policy';
import type { HttpClient } from '../outbound/http-client';

export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string; retryAfterMs: number | undefined };

const ERROR_BODY_BYTES = 300;

/**
 * One POST to the order system. Only a 2xx counts; a redirect is a failure (a signed POST must
 * not turn into a GET elsewhere). The timeout covers the whole exchange, body included.
 */
export async function postEvent(client: HttpClient, url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
  let reply;
  try {
    reply = await client.send(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), maxBodyBytes: ERROR_BODY_BYTES, overflow: 'truncate' });
  } catch (error) {
    return { ok: false, status: null, error: describeError(error, timeoutMs), retryAfterMs: undefined };
  }
  if (reply.status >= 200 && reply.status < 300) return { ok: true, status: reply.status };
  const retryAfter = reply.headers['retry-after'];
  const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now());
  const excerpt = reply.body.replace(/\s+/g, ' ').trim();
  const error = `HTTP ${reply.status}${excerpt === '' ? '' : `: ${excerpt}`}`;
  return { ok: false, status: reply.status, error, retryAfterMs };
}

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timeout: no reply within ${timeoutMs} ms`;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  return `connection failed: ${code === '' ? message : `${code} ${message}`}`;
}
