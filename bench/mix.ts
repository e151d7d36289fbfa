import { createHash } from 'node:crypto';
import { encodeForm, lyraFormBody, lyraFormFields, lyraRestBody } from '../src/tools/lyra-notifications';

/**
 * The calls of a merchant's real traffic, in the order a platform sends them: each order starts
 * with its first notification, and its follow-ups (a capture, a second attempt after a refusal,
 * the platform's retry of the same bytes, a back-office resend, a refund, the REST twin of the
 * form notification) come a block of orders later, mixed with the next orders' first calls. A
 * few calls are forged (a signature made with another key).
 */
export interface MixShop {
  shopId: string;
  testKey: string;
  testPassword: string;
}

/** Of the orders, how many share each story (weights out of 100). */
const STORIES = [
  { story: 'capture', weight: 30 },
  { story: 'second attempt', weight: 15 },
  { story: 'exact retry', weight: 15 },
  { story: 'back-office resend', weight: 10 },
  { story: 'refund', weight: 5 },
  { story: 'REST twin', weight: 5 },
  { story: 'first only', weight: 20 },
] as const;
type Story = (typeof STORIES)[number]['story'];

/** Of all calls, about this share is forged. */
const FORGED_SHARE = 0.05;
/** Orders per block: a follow-up comes this many orders after its order's first call, on average. */
const BLOCK = 256;

export type CallKind = Story | 'first' | 'forged';

export interface MixCall {
  kind: CallKind;
  body: string;
}

/** The story of order `n`, spread evenly by a fixed stride so that any window holds the same mix. */
function storyOf(n: number): Story {
  let point = (n * 37) % 100;
  for (const { story, weight } of STORIES) {
    if (point < weight) return story;
    point -= weight;
  }
  return 'first only';
}

/** An order's first call and its follow-ups, signed as the platform signs them. */
function orderCalls(shop: MixShop, prefix: string, n: number): { first: MixCall; followUps: MixCall[] } {
  const orderId = `${prefix}-${n}`;
  const amount = 1000 + (n % 9000);
  const base = { shopId: shop.shopId, orderId, amount };
  const story = storyOf(n);
  if (story === 'second attempt') {
    return {
      first: { kind: 'first', body: lyraFormBody({ ...base, status: 'REFUSED' }, shop.testKey) },
      followUps: [{ kind: story, body: lyraFormBody({ ...base, status: 'AUTHORISED', transactionUuid: secondAttemptUuid(orderId) }, shop.testKey) }],
    };
  }
  const firstBody = lyraFormBody({ ...base, status: 'AUTHORISED' }, shop.testKey);
  const first: MixCall = { kind: 'first', body: firstBody };
  switch (story) {
    case 'capture':
      return { first, followUps: [{ kind: story, body: lyraFormBody({ ...base, status: 'CAPTURED', source: 'BATCH' }, shop.testKey) }] };
    case 'exact retry':
      return { first, followUps: [{ kind: story, body: firstBody }] };
    case 'back-office resend':
      return { first, followUps: [{ kind: story, body: lyraFormBody({ ...base, status: 'AUTHORISED', resend: true }, shop.testKey) }] };
    case 'refund':
      return { first, followUps: [{ kind: story, body: lyraFormBody({ ...base, status: 'CAPTURED', operation: 'CREDIT', source: 'BO' }, shop.testKey) }] };
    case 'REST twin':
      return { first, followUps: [{ kind: story, body: lyraRestBody({ ...base, status: 'AUTHORISED' }, shop.testPassword) }] };
    default:
      return { first, followUps: [] };
  }
}

/** The second attempt is a transaction of its own (a new `vads_trans_uuid`). */
function secondAttemptUuid(orderId: string): string {
  return createHash('sha256').update(`${orderId}|second attempt`).digest('hex').slice(0, 32);
}

/** A notification signed with a key that is not the shop's: the service answers 401. */
function forged(shop: MixShop, prefix: string, n: number): MixCall {
  const fields = lyraFormFields({ shopId: shop.shopId, orderId: `${prefix}-forged-${n}`, status: 'AUTHORISED' });
  return { kind: 'forged', body: encodeForm({ ...fields, signature: 'x'.repeat(43) + '=' }) };
}

/** Deterministic shuffle (a linear congruential generator): the same mix on every run. */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0 || 1;
  for (let i = items.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * An endless stream of calls: block k holds the first calls of orders k·BLOCK … and the
 * follow-ups of block k−1, shuffled, with forged calls spread through.
 */
export function realisticMix(shop: MixShop, prefix: string): () => MixCall {
  let block = 0;
  let pending: MixCall[] = [];
  let queue: MixCall[] = [];
  let forgedCount = 0;
  const refill = (): void => {
    const calls: MixCall[] = [...pending];
    pending = [];
    for (let i = 0; i < BLOCK; i++) {
      const { first, followUps } = orderCalls(shop, prefix, block * BLOCK + i);
      calls.push(first);
      pending.push(...followUps);
    }
    const forgeries = Math.round((calls.length * FORGED_SHARE) / (1 - FORGED_SHARE));
    for (let i = 0; i < forgeries; i++) calls.push(forged(shop, prefix, forgedCount++));
    queue = shuffle(calls, block + 1);
    block++;
  };
  return () => {
    if (queue.length === 0) refill();
    return queue.pop() as MixCall;
  };
}

/** The share of each kind of call in a sample of the stream, for the benchmark to print. */
export function describeMix(shop: MixShop, sample = 20_000): string {
  const next = realisticMix(shop, 'describe');
  const counts = new Map<CallKind, number>();
  for (let i = 0; i < sample; i++) {
    const { kind } = next();
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const share = (n: number) => `${((n / sample) * 100).toFixed(0)}%`;
  const followUps = [...counts].filter(([kind]) => kind !== 'first' && kind !== 'forged').reduce((n, [, c]) => n + c, 0);
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${kind} ${share(n)}`);
  return `${parts.join(', ')}; about a stored order: ${share(followUps)}`;
}
