import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Payline's web services, for the simulator and the tests only: the endpoint
 * directory and SOAP endpoints whose behaviour each test chooses (answer, HTTP 503, the 02101
 * internal error, a closed port, or no answer at all).
 */
export type EndpointBehaviour = 'answer' | 'http503' | 'internal-error' | 'closed' | 'hang';

export interface FakeResult {
  code: string;
  shortMessage: string;
  transactionId?: string;
  amount?: number;
  /** ISO 4217 numeric. */
  currency?: string;
  action?: string;
  orderRef?: string;
  contractNumber?: string;
}

export interface FakePaylineCall {
  endpoint: string;
  method: string;
  key: string;
  headers: IncomingHttpHeaders;
}

export interface FakePayline {
  url: string;
  port: number;
  directoryUrl(merchantId: string): string;
  endpointUrl(name: string): string;
  /** Endpoints listed by the directory, in order, and how each behaves. */
  endpoints: { name: string; behaviour: EndpointBehaviour }[];
  /** What getWebPaymentDetails (by token) and getTransactionDetails (by transaction id) answer. */
  results: Map<string, FakeResult>;
  directoryUp: boolean;
  calls: FakePaylineCall[];
  close(): Promise<void>;
}

/** A port nothing listens on: connecting to it is refused. */
const CLOSED = 'http://127.0.0.1:9/V4';

const element = (name: string, value: string | number | undefined) => (value === undefined ? '' : `<${name}>${value}</${name}>`);

function soapAnswer(method: string, result: FakeResult | undefined): string {
  const r = result ?? { code: '02305', shortMessage: 'INVALID' };
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
    `<ns2:${method}Response xmlns:ns2="http://impl.ws.payline.experian.com" xmlns="http://obj.ws.payline.experian.com">` +
    `<ns2:result><code>${r.code}</code><shortMessage>${r.shortMessage}</shortMessage><longMessage>fake</longMessage></ns2:result>` +
    `<ns2:transaction>${element('id', r.transactionId)}</ns2:transaction>` +
    `<ns2:payment>${element('amount', r.amount)}${element('currency', r.currency)}${element('action', r.action)}${element('contractNumber', r.contractNumber)}</ns2:payment>` +
    `<ns2:order>${element('ref', r.orderRef)}</ns2:order>` +
    `</ns2:${method}Response></soap:Body></soap:Envelope>`
  );
}

export async function startFakePayline(port = 0): Promise<FakePayline> {
  let base = '';
  const state: Pick<FakePayline, 'endpoints' | 'results' | 'directoryUp' | 'calls'> = {
    endpoints: [
      { name: 'a', behaviour: 'answer' },
      { name: 'b', behaviour: 'answer' },
    ],
    results: new Map(),
    directoryUp: true,
    calls: [],
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (req.method === 'GET' && url.startsWith('/services/servicesendpoints/SOAP/')) {
        if (!state.directoryUp) return res.writeHead(503).end();
        const urls = state.endpoints.map((e) => (e.behaviour === 'closed' ? CLOSED : `${base}/${e.name}/V4`));
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ttl: '600', urls }));
      }
      const match = /^\/([a-z]+)\/V4\/services\/(WebPaymentAPI|ExtendedAPI)$/.exec(url);
      if (req.method !== 'POST' || match === null) return res.writeHead(404).end();
      const body = Buffer.concat(chunks).toString('utf8');
      const method = /<impl:(\w+)Request>/.exec(body)?.[1] ?? 'unknown';
      const key = /<impl:(?:token|transactionId)>([^<]*)</.exec(body)?.[1] ?? '';
      const name = match[1] as string;
      state.calls.push({ endpoint: name, method, key, headers: req.headers });
      const behaviour = state.endpoints.find((e) => e.name === name)?.behaviour ?? 'answer';
      if (behaviour === 'http503') return res.writeHead(503).end('busy');
      if (behaviour === 'hang') return;
      const result = behaviour === 'internal-error' ? { code: '02101', shortMessage: 'ERROR' } : state.results.get(key);
      res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(soapAnswer(method, result));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${actual}`;
  return Object.assign(state, {
    port: actual,
    url: base,
    directoryUrl: (merchantId: string) => `${base}/services/servicesendpoints/SOAP/${merchantId}`,
    endpointUrl: (name: string) => `${base}/${name}/V4/services/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
