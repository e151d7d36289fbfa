import type { StoredOrder } from '../../src/store/ingest-statements';
import { OrderCache } from '../../src/store/order-cache';

function order(id: number, version: string): StoredOrder {
  return { id, version, state: { status: 'PENDING', paidAmount: 0, refundedAmount: 0, currency: 'EUR', abandoned: false }, transactions: [] };
}

describe('the order cache', () => {
  it('keeps the orders used last: past its capacity, the least recently used goes first', () => {
    const cache = new OrderCache(2);
    cache.remember('a', order(1, '10'), new Map());
    cache.remember('b', order(2, '20'), new Map());
    expect(cache.get('a')?.order?.id).toBe(1);
    cache.remember('c', order(3, '30'), new Map());
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.order?.id).toBe(1);
    expect(cache.get('c')?.order?.id).toBe(3);
  });

  it('takes the order as last written, and adds the notifications recorded to those known', () => {
    const cache = new OrderCache();
    cache.remember('a', order(1, '10'), new Map([['k1', 1]]));
    cache.remember('a', order(1, '11'), new Map([['k2', 2]]));
    expect(cache.get('a')).toEqual({ order: order(1, '11'), existing: new Map([['k1', 1], ['k2', 2]]) });
  });

  it('forgets an order dropped, and every order on forget()', () => {
    const cache = new OrderCache();
    cache.remember('a', order(1, '10'), new Map());
    cache.remember('b', order(2, '20'), new Map());
    cache.drop('a');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeDefined();
    cache.forget();
    expect(cache.get('b')).toBeUndefined();
  });

  it('keeps its own copy of the notifications known: the caller changing its map changes nothing', () => {
    const cache = new OrderCache();
    const existing = new Map([['k1', 1]]);
    cache.remember('a', order(1, '10'), existing);
    existing.set('k2', 2);
    expect(cache.get('a')?.existing).toEqual(new Map([['k1', 1]]));
  });

  it('after a call that wrote nothing: keeps what it saw when nothing is known, adds its notifications to the same version, and drops another version', () => {
    const cache = new OrderCache();
    cache.sawUnchanged('a', { order: order(1, '10'), existing: new Map([['k1', 1]]) });
    expect(cache.get('a')?.order?.version).toBe('10');
    cache.sawUnchanged('a', { order: order(1, '10'), existing: new Map([['k2', 2]]) });
    expect(cache.get('a')?.existing).toEqual(new Map([['k1', 1], ['k2', 2]]));
    // A concurrent call kept version 11; this one saw 10 (or 12): which is later is not known.
    cache.remember('a', order(1, '11'), new Map());
    cache.sawUnchanged('a', { order: order(1, '10'), existing: new Map() });
    expect(cache.get('a')).toBeUndefined();
  });
});
