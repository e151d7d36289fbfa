import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/**
 * The embedded database has no autovacuum (one backend, no background workers): this does its
 * job. Dead rows left by outbox attempts are reclaimed and planner statistics stay current.
 */
export async function vacuumAnalyze(db: Kysely<Database>): Promise<void> {
  await sql`VACUUM (ANALYZE)`.execute(db);
}
