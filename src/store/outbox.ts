import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** The channel migration 0002's trigger notifies on every insert into the outbox. */
export const OUTBOX_CHANNEL = 'ipn_outbox';

export interface ClaimedEvent {
  id: string;
  aggregateid: string;
  type: string;
  payload: unknown;
  seq: number;
  /** This attempt's number, counted at claim time: it is also the claim's fence. */
  attempts: number;
}

const millis = (ms: number) => sql<Date>`now() + ${Math.max(0, Math.round(ms))}::float8 * interval '1 millisecond'`;

/**
 * Claims up to `limit` due events, at most one per order: an event is due only when no earlier
 * event of its order is still pending. The claim is a lease: `next_attempt_at` moves to the lease
 * end, so the event comes due again by itself if this relay dies mid-attempt. Rows another relay
 * is claiming are skipped, never waited for.
 */
export async function claimDueEvents(db: Kysely<Database>, relayId: string, limit: number, leaseMs: number): Promise<ClaimedEvent[]> {
  return db
    .updateTable('outbox')
    .set({
      attempts: sql<number>`attempts + 1`,
      claimed_by: relayId,
      last_attempt_at: sql<Date>`now()`,
      next_attempt_at: millis(leaseMs),
    })
    .where('id', 'in', dueEventsQuery(db, limit))
    .returning(['id', 'aggregateid', 'type', 'payload', 'seq', 'attempts'])
    .execute();
}

/** The due heads of their orders, in due order, locked without waiting; exported for plan checks. */
export function dueEventsQuery(db: Kysely<Database>, limit: number) {
  return db
    .selectFrom('outbox as o')
    .select('o.id')
    .where('o.state', '=', 'pending')
    .where('o.next_attempt_at', '<=', sql<Date>`now()`)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('outbox as earlier')
            .select('earlier.seq')
            .whereRef('earlier.aggregateid', '=', 'o.aggregateid')
            .where('earlier.state', '=', 'pending')
            .whereRef('earlier.seq', '<', 'o.seq'),
        ),
      ),
    )
    .orderBy('o.next_attempt_at')
    .orderBy('o.seq')
    .limit(limit)
    .forUpdate()
    .skipLocked();
}

/** False when the claim expired and another attempt took over. A past last_error stays: it tells why earlier attempts failed. */
export async function markDelivered(db: Kysely<Database>, event: ClaimedEvent): Promise<boolean> {
  return (await markAllDelivered(db, [event])).has(event.id);
}

/**
 * Records many delivered attempts in one statement and one commit, each fenced by its own claim:
 * returns the ids recorded; an event missing from it had its claim expired and taken over.
 */
export async function markAllDelivered(db: Kysely<Database>, events: readonly ClaimedEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await db
    .updateTable('outbox')
    .set({ state: 'delivered', delivered_at: sql<Date>`now()`, claimed_by: null })
    .where('state', '=', 'pending')
    // Raw: the builder has no table-valued parameter. unnest turns two bound arrays into the
    // (id, attempts) pairs, so the statement's text is the same for any number of events.
    .where(sql<boolean>`(id, attempts) IN (SELECT * FROM unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => e.attempts)}::int[]))`)
    .returning('id')
    .execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * Hands back claims whose events were never posted: due again now, and the attempt they counted
 * is taken back. Fenced like a record, so a claim that expired meanwhile is left to its new owner.
 */
export async function releaseClaims(db: Kysely<Database>, relayId: string, events: readonly ClaimedEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const result = await db
    .updateTable('outbox')
    .set({ attempts: sql<number>`attempts - 1`, claimed_by: null, next_attempt_at: sql<Date>`now()` })
    .where('state', '=', 'pending')
    .where('claimed_by', '=', relayId)
    // Raw for the same reason as markAllDelivered: pairs from two bound arrays.
    .where(sql<boolean>`(id, attempts) IN (SELECT * FROM unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => e.attempts)}::int[]))`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface FailedAttempt {
  error: string;
  /** Dead: no further attempt. Otherwise retried after `retryInMs`. */
  dead: boolean;
  retryInMs: number;
}

/**
 * Records a failed attempt. A retried event also holds back the later events of its order until
 * its own next attempt, so they are not scanned again and again while it waits.
 */
export async function markFailed(db: Kysely<Database>, event: ClaimedEvent, failure: FailedAttempt): Promise<boolean> {
  // One statement: the followers get exactly the retried event's time, and one round trip.
  const held = await db
    .with('failed', (qb) =>
      qb
        .updateTable('outbox')
        .set({
          state: failure.dead ? 'dead' : 'pending',
          last_error: failure.error.slice(0, 1000),
          claimed_by: null,
          next_attempt_at: failure.dead ? sql<Date>`now()` : millis(failure.retryInMs),
        })
        .where('id', '=', event.id)
        .where('state', '=', 'pending')
        .where('attempts', '=', event.attempts)
        .returning(['id', 'aggregateid', 'seq', 'state', 'next_attempt_at']),
    )
    .with('held_back', (qb) =>
      qb
        .updateTable('outbox as later')
        .from('failed')
        .set((eb) => ({ next_attempt_at: eb.ref('failed.next_attempt_at') }))
        .where('failed.state', '=', 'pending')
        .whereRef('later.aggregateid', '=', 'failed.aggregateid')
        .where('later.state', '=', 'pending')
        .whereRef('later.seq', '>', 'failed.seq')
        .whereRef('later.next_attempt_at', '<', 'failed.next_attempt_at')
        .returning('later.id'),
    )
    .selectFrom('failed')
    .select('failed.id')
    .execute();
  return held.length > 0;
}

/** Milliseconds until the next pending event comes due in the future, or null if none does. */
export async function msUntilNextDue(db: Kysely<Database>): Promise<number | null> {
  const row = await db
    .selectFrom('outbox')
    .select(sql<number | null>`ceil(extract(epoch from min(next_attempt_at) - now()) * 1000)::float8`.as('ms'))
    .where('state', '=', 'pending')
    .where('next_attempt_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row?.ms ?? null;
}

/** The backlog of a queue table (the outbox, the deferred Payline fetches), read at scrape time. */
export interface QueueStats {
  pending: number;
  dead: number;
  oldestPendingAgeSeconds: number;
}

export async function queueStats(db: Kysely<Database>, table: 'outbox' | 'payline_fetches'): Promise<QueueStats> {
  const [pending, dead] = await Promise.all([
    db
      .selectFrom(table)
      .select([sql<number>`count(*)::float8`.as('count'), sql<number | null>`extract(epoch from now() - min(created_at))::float8`.as('age')])
      .where('state', '=', 'pending')
      .executeTakeFirstOrThrow(),
    db.selectFrom(table).select(sql<number>`count(*)::float8`.as('count')).where('state', '=', 'dead').executeTakeFirstOrThrow(),
  ]);
  return { pending: pending.count, dead: dead.count, oldestPendingAgeSeconds: pending.age ?? 0 };
}

export const outboxStats = (db: Kysely<Database>): Promise<QueueStats> => queueStats(db, 'outbox');
