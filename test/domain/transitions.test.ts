import { TRANSACTION_STATUSES, type TransactionStatus } from '../../src/domain/notification';
import { canTransition } from '../../src/domain/transitions';

// The whole table, spelled out: every pair not listed here must be stale.
const ALLOWED: Record<TransactionStatus, TransactionStatus[]> = {
  pending: ['pending', 'authorised', 'captured', 'accepted', 'refused', 'capture_failed', 'expired', 'cancelled', 'abandoned'],
  authorised: ['captured', 'cancelled', 'expired', 'capture_failed'],
  capture_failed: ['captured', 'cancelled'],
  captured: [],
  accepted: [],
  refused: [],
  expired: [],
  cancelled: [],
  abandoned: [],
  unknown: [],
};

describe('transaction transition table', () => {
  const pairs = TRANSACTION_STATUSES.flatMap((from) => TRANSACTION_STATUSES.map((to) => [from, to] as const));

  it.each(pairs)('%s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(ALLOWED[from].includes(to));
  });

  it('never leaves a final state', () => {
    for (const final of ['captured', 'refused', 'expired', 'cancelled', 'abandoned', 'accepted'] as const) {
      expect(TRANSACTION_STATUSES.filter((to) => canTransition(final, to))).toEqual([]);
    }
  });

  it('a refund may also fail after it succeeded, and only a refund', () => {
    const refund = pairs.filter(([from, to]) => canTransition(from, to, 'refund') && !canTransition(from, to)).map(([from, to]) => `${from}->${to}`);
    expect(refund).toEqual(['captured->refused']);
    expect(canTransition('captured', 'refused', 'debit')).toBe(false);
  });

  it('never moves into unknown', () => {
    expect(TRANSACTION_STATUSES.filter((from) => canTransition(from, 'unknown'))).toEqual([]);
  });
});
