import { parseRetryAfter } from './retry-policy';

export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string; retryAfterMs: number | undefined };

const ERROR_BODY_BYTES = 300;

/**
 * One POST to the order system. Only a 2xx counts; a redirect is a failure (a signed POST must
 * not turn into a GET elsewhere). The timeout covers the whole exchange, body included.
 */
export async function postEvent(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    return { ok: false, status: null, error: describeFetchError(error, timeoutMs), retryAfterMs: undefined };
  }
  const excerpt = await readExcerpt(response);
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
  const error = `HTTP ${response.status}${excerpt === '' ? '' : `: ${excerpt}`}`;
  return { ok: false, status: response.status, error, retryAfterMs };
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timeout: no reply within ${timeoutMs} ms`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
  const message = cause instanceof Error ? cause.message : String(cause);
  return `connection failed: ${code === '' ? message : `${code} ${message}`}`;
}

/** The start of the reply body, for the row's last_error; the rest is discarded unread. */
async function readExcerpt(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ERROR_BODY_BYTES) {
      const chunk = await reader.read();
      if (chunk.done) break;
      chunks.push(chunk.value);
      size += chunk.value.length;
    }
  } catch {
    // A reply cut short or timed out while its body streams: the status is what counts.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8').replace(/\s+/g, ' ').trim();
}
