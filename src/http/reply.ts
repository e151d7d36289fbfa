import type { ServerResponse } from 'node:http';

/** A plain-text reply, as Express's `res.type(…).send(…)` writes it, without its content negotiation. */
export function sendText(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
