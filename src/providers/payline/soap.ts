import { XMLParser } from 'fast-xml-parser';
import { FieldError } from '../fields';
import type { PaylineTrigger } from './trigger';

/** Payline web services version the requests are written for. */
export const PAYLINE_API_VERSION = '34';

const IMPL = 'http://impl.ws.payline.experian.com';

const escapeXml = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export interface PaylineCall {
  /** The web service: getWebPaymentDetails is in WebPaymentAPI, getTransactionDetails in ExtendedAPI. */
  service: 'WebPaymentAPI' | 'ExtendedAPI';
  method: 'getWebPaymentDetails' | 'getTransactionDetails';
  body: string;
}

/** The SOAP request that fetches what a notification points at. */
export function paylineRequest(trigger: Exclude<PaylineTrigger, { kind: 'other' }>): PaylineCall {
  const [service, method, fields] =
    trigger.kind === 'web'
      ? (['WebPaymentAPI', 'getWebPaymentDetails', `<impl:token>${escapeXml(trigger.token)}</impl:token>`] as const)
      : (['ExtendedAPI', 'getTransactionDetails', `<impl:transactionId>${escapeXml(trigger.transactionId)}</impl:transactionId><impl:orderRef/><impl:startDate/><impl:endDate/><impl:transactionHistory/><impl:archiveSearch/>`] as const);
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:impl="${IMPL}">` +
    `<soapenv:Body><impl:${method}Request><impl:version>${PAYLINE_API_VERSION}</impl:version>${fields}</impl:${method}Request></soapenv:Body></soapenv:Envelope>`;
  return { service, method, body };
}

/** The fields of a details response the receiver uses; everything else is ignored. */
export interface PaylineDetails {
  resultCode: string;
  shortMessage: string | null;
  transactionId: string | null;
  amount: number | null;
  /** ISO 4217 numeric, as Payline sends it. */
  currency: string | null;
  /** 100 authorisation, 101 authorisation and capture… */
  action: string | null;
  orderRef: string | null;
  contractNumber: string | null;
}

const parser = new XMLParser({ removeNSPrefix: true, parseTagValue: false, ignoreAttributes: true, processEntities: true });

type Node = Record<string, unknown>;
const child = (node: unknown, name: string): unknown => (typeof node === 'object' && node !== null ? (node as Node)[name] : undefined);
const text = (node: unknown): string | null => (typeof node === 'string' && node.trim() !== '' ? node.trim() : null);

/** Reads a `get…DetailsResponse` (or a SOAP fault, as an error). */
export function parsePaylineResponse(xml: string, method: PaylineCall['method']): PaylineDetails {
  let document: unknown;
  try {
    document = parser.parse(xml);
  } catch {
    throw new FieldError('Payline answered something that is not XML');
  }
  const body = child(child(document, 'Envelope'), 'Body');
  const fault = child(body, 'Fault');
  if (fault !== undefined) throw new FieldError(`Payline SOAP fault: ${text(child(fault, 'faultstring'))?.slice(0, 80) ?? 'no reason'}`);
  const response = child(body, `${method}Response`);
  const resultCode = text(child(child(response, 'result'), 'code'));
  if (resultCode === null || !/^\d{5}$/.test(resultCode)) throw new FieldError('Payline response has no result code');
  const payment = child(response, 'payment');
  const amount = text(child(payment, 'amount'));
  if (amount !== null && !/^\d{1,15}$/.test(amount)) throw new FieldError('Payline payment.amount is not an amount in minor units');
  return {
    resultCode,
    shortMessage: text(child(child(response, 'result'), 'shortMessage')),
    transactionId: text(child(child(response, 'transaction'), 'id')),
    amount: amount === null ? null : Number(amount),
    currency: text(child(payment, 'currency')),
    action: text(child(payment, 'action')),
    orderRef: text(child(child(response, 'order'), 'ref')),
    contractNumber: text(child(payment, 'contractNumber')),
  };
}
