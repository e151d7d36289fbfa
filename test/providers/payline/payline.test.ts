import fc from 'fast-check';
import { failoverCause, normalizePaylineDetails, parseEndpointDirectory, parsePaylineResponse, parsePaylineTrigger, paylineRequest } from '../../../src/providers/payline';
import { normalizePaylineResult } from '../../../src/providers/payline/statuses';
import { FieldError } from '../../../src/providers/fields';

describe('Payline notification trigger', () => {
  it('reads the type case-insensitively and the identifier it points at', () => {
    expect(parsePaylineTrigger('notificationType=webtrs&token=1abC_-2')).toEqual({ kind: 'web', notificationType: 'WEBTRS', token: '1abC_-2' });
    expect(parsePaylineTrigger('notificationType=TRS&transactionId=11283230050198')).toEqual({ kind: 'transaction', notificationType: 'TRS', transactionId: '11283230050198' });
    expect(parsePaylineTrigger('notificationType=BILL&paymentRecordId=474948')).toEqual({ kind: 'other', notificationType: 'BILL' });
  });

  it.each([
    ['token=x', 'notificationType is missing'],
    ['notificationType=WEBTRS', 'token is missing or malformed'],
    ['notificationType=WEBTRS&token=a<b', 'token is missing or malformed'],
    ['notificationType=TRS&transactionId=', 'transactionId is missing or malformed'],
  ])('%s: %s', (query, message) => {
    expect(() => parsePaylineTrigger(query)).toThrow(new FieldError(message));
  });

  it('arbitrary query strings give a trigger or a FieldError, nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (query) => {
        try {
          parsePaylineTrigger(query);
        } catch (error) {
          expect(error).toBeInstanceOf(FieldError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('Payline SOAP', () => {
  it('builds the getWebPaymentDetails and getTransactionDetails requests', () => {
    const web = paylineRequest({ kind: 'web', notificationType: 'WEBTRS', token: 'T1' });
    expect(web).toMatchObject({ service: 'WebPaymentAPI', method: 'getWebPaymentDetails' });
    expect(web.body).toContain('<impl:getWebPaymentDetailsRequest><impl:version>34</impl:version><impl:token>T1</impl:token></impl:getWebPaymentDetailsRequest>');
    const trs = paylineRequest({ kind: 'transaction', notificationType: 'TRS', transactionId: 'TX1' });
    expect(trs).toMatchObject({ service: 'ExtendedAPI', method: 'getTransactionDetails' });
    expect(trs.body).toContain('<impl:transactionId>TX1</impl:transactionId>');
  });

  const answer = (inner: string) =>
    `<?xml version="1.0"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><impl:getWebPaymentDetailsResponse xmlns:impl="http://impl.ws.payline.experian.com" xmlns:obj="http://obj.ws.payline.experian.com">${inner}</impl:getWebPaymentDetailsResponse></S:Body></S:Envelope>`;

  it('reads the answer whatever the namespace prefixes', () => {
    const xml = answer('<impl:result><obj:code>00000</obj:code><obj:shortMessage>ACCEPTED</obj:shortMessage></impl:result><impl:transaction><obj:id>TX9</obj:id></impl:transaction><impl:payment><obj:amount>1234</obj:amount><obj:currency>978</obj:currency><obj:action>100</obj:action><obj:contractNumber>42</obj:contractNumber></impl:payment><impl:order><obj:ref>CMD &amp; 1</obj:ref></impl:order>');
    expect(parsePaylineResponse(xml, 'getWebPaymentDetails')).toEqual({ resultCode: '00000', shortMessage: 'ACCEPTED', transactionId: 'TX9', amount: 1234, currency: '978', action: '100', orderRef: 'CMD & 1', contractNumber: '42' });
  });

  it('refuses a fault, garbage, a missing code and a bad amount with a reason', () => {
    const fault = '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Client</faultcode><faultstring>Access denied</faultstring></S:Fault></S:Body></S:Envelope>';
    expect(() => parsePaylineResponse(fault, 'getWebPaymentDetails')).toThrow('Payline SOAP fault: Access denied');
    expect(() => parsePaylineResponse('<html>busy', 'getWebPaymentDetails')).toThrow(FieldError);
    expect(() => parsePaylineResponse(answer('<impl:result></impl:result>'), 'getWebPaymentDetails')).toThrow('Payline response has no result code');
    expect(() => parsePaylineResponse(answer('<impl:result><code>00000</code></impl:result><impl:payment><amount>12.5</amount></impl:payment>'), 'getWebPaymentDetails')).toThrow('Payline payment.amount is not an amount in minor units');
  });

  it('never throws anything but a FieldError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (xml) => {
        try {
          parsePaylineResponse(xml, 'getWebPaymentDetails');
        } catch (error) {
          expect(error).toBeInstanceOf(FieldError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('Payline result codes and failover', () => {
  it.each([
    ['00000', 'ACCEPTED', '101', 'captured'],
    ['00000', 'ACCEPTED', '100', 'authorised'],
    ['02500', 'ACCEPTED', '101', 'captured'],
    ['02306', 'INPROGRESS', null, 'pending'],
    ['04003', 'ONHOLD_PARTNER', null, 'pending'],
    ['02304', 'CANCELLED', null, 'abandoned'],
    ['02319', 'CANCELLED', null, 'cancelled'],
    ['01913', 'ERROR', null, 'unknown'],
    ['01100', 'REFUSED', null, 'refused'],
    ['09999', 'SOMETHING', null, 'unknown'],
  ] as const)('%s %s (action %s) is %s', (code, message, action, status) => {
    expect(normalizePaylineResult(code, message, action)).toBe(status);
  });

  it('fails over on the SDK technical failures only', () => {
    expect(failoverCause({ kind: 'connection', reason: 'ECONNREFUSED' })).toBe('TIMEOUT');
    for (const status of [408, 500, 502, 503, 504]) expect(failoverCause({ kind: 'http', status })).toBe(`HTTP_${status}`);
    for (const status of [400, 401, 403, 404]) expect(failoverCause({ kind: 'http', status })).toBeNull();
    expect(failoverCause({ kind: 'answer', resultCode: '02101' })).toBe('APP_02101');
    expect(failoverCause({ kind: 'answer', resultCode: '04901' })).toBe('APP_04901');
    expect(failoverCause({ kind: 'answer', resultCode: '01100' })).toBeNull();
  });

  it('reads the endpoint directory, its ttl in seconds kept between a minute and a day', () => {
    expect(parseEndpointDirectory({ ttl: '10080', urls: ['https://services.payline.com/V4', 'https://services-b.payline.com/V4/'] })).toEqual({
      urls: ['https://services.payline.com/V4/services/', 'https://services-b.payline.com/V4/services/'],
      ttlSeconds: 10080,
    });
    expect(parseEndpointDirectory({ ttl: '5', urls: ['https://a/V4'] })?.ttlSeconds).toBe(60);
    expect(parseEndpointDirectory({ urls: [] })).toBeNull();
    expect(parseEndpointDirectory({ urls: ['ftp://x'] })).toBeNull();
    expect(parseEndpointDirectory('nope')).toBeNull();
  });

  it('normalizes a fetched result: the order, the transaction, the amount and currency', () => {
    const details = { resultCode: '00000', shortMessage: 'ACCEPTED', transactionId: 'TX1', amount: 990, currency: '978', action: '101', orderRef: 'CMD-1', contractNumber: '1' };
    expect(normalizePaylineDetails(details, { kind: 'web', notificationType: 'WEBTRS', token: 'T' }, { merchantId: 'm1' }, 'PRODUCTION')).toMatchObject({
      provider: 'payline',
      format: 'webtrs',
      shopId: 'm1',
      mode: 'PRODUCTION',
      orderId: 'CMD-1',
      transactionId: 'TX1',
      status: 'captured',
      statusRaw: '00000',
      amount: 990,
      currency: 'EUR',
      source: 'WEBTRS',
    });
  });
});
