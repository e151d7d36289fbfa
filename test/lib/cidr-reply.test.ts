import fc from 'fast-check';
import { replyLine, statusOf, REPLY_MAX_BYTES } from '../../src/ingest/verdicts';
import { createAllowlist } from '../../src/lib/cidr';
import { constantTimeEqual } from '../../src/lib/constant-time';

describe('allowlist', () => {
  const list = createAllowlist(['194.50.38.0/24', '2001:db8::/32', '10.1.2.3']);

  it.each([
    ['194.50.38.0', true],
    ['194.50.38.255', true],
    ['194.50.39.1', false],
    ['::ffff:194.50.38.7', true],
    ['::ffff:194.50.39.7', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    ['10.1.2.3', true],
    ['10.1.2.4', false],
    ['not an ip', false],
  ])('%s → %s', (address, allowed) => {
    expect(list.allows(address)).toBe(allowed);
  });

  it('refuses a missing address', () => {
    expect(list.allows(undefined)).toBe(false);
  });

  it('gives the same verdict again for an address it has seen, also after more addresses than it keeps', () => {
    // The verdicts are kept per address: the same list is asked twice for every address, and a
    // fresh list (nothing kept) must agree, over more distinct addresses than the list keeps.
    const byte = fc.integer({ min: 0, max: 255 });
    const address = fc.oneof(
      fc.tuple(byte, byte).map(([a, b]) => `194.50.${38 + (a % 2)}.${b}`),
      fc.tuple(byte, byte, byte, byte).map((parts) => parts.join('.')),
      fc.tuple(byte, byte).map(([a, b]) => `::ffff:194.50.${38 + (a % 2)}.${b}`),
    );
    const entries = ['194.50.38.0/24', '2001:db8::/32', '10.1.2.3'];
    const kept = createAllowlist(entries);
    fc.assert(
      fc.property(fc.array(address, { minLength: 1, maxLength: 50 }), (addresses) => {
        for (const a of addresses) {
          const expected = createAllowlist(entries).allows(a);
          expect(kept.allows(a)).toBe(expected);
          expect(kept.allows(a)).toBe(expected);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('replyLine', () => {
  it('starts OK- for 2xx and KO- otherwise', () => {
    expect(replyLine('applied', 'x')).toBe('OK-applied: x');
    expect(replyLine('bad_signature', 'y')).toBe('KO-authentication failed: y');
    expect(statusOf('unavailable')).toBe(503);
  });

  it('is one line of at most 200 bytes whatever the detail', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (detail) => {
        const line = replyLine('stale', detail);
        expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(REPLY_MAX_BYTES);
        expect(line).not.toMatch(/[\r\n\u2028\u2029]/);
        expect(line.startsWith('OK-')).toBe(true);
      }),
    );
  });
});

describe('constantTimeEqual', () => {
  it('compares values of any lengths through the same path', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
