import fc from 'fast-check';
import { parseFormBody } from '../../src/lib/form-body';

describe('parseFormBody', () => {
  it('decodes with URLSearchParams semantics: + is a space, escapes are UTF-8', () => {
    expect(parseFormBody(Buffer.from('a=1+2&b=%C3%A9%2B&c=&d'))).toEqual({ ok: true, fields: { a: '1 2', b: 'é+', c: '', d: '' } });
  });

  it('refuses invalid UTF-8 bytes', () => {
    expect(parseFormBody(Buffer.from([0x61, 0x3d, 0xff, 0xfe]))).toEqual({ ok: false, reason: 'body is not valid UTF-8' });
  });

  it('refuses a repeated field and too many fields', () => {
    expect(parseFormBody(Buffer.from('a=1&a=2'))).toEqual({ ok: false, reason: 'field a is repeated' });
    expect(parseFormBody(Buffer.from('a=1&b=2&c=3'), 2)).toEqual({ ok: false, reason: 'more than 2 fields' });
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const result = parseFormBody(bytes);
      expect(typeof result.ok).toBe('boolean');
    }));
  });
});
