import { sql, type Kysely } from 'kysely';
import { within } from '../lib/within';
import { pendingMigrations } from './migrate';
import type { Database } from './schema';

export type Readiness = { ready: true } | { ready: false; reason: string };

/** Database reachable and every migration applied, within `timeoutMs`. */
export async function checkReadiness(db: Kysely<Database>, timeoutMs: number): Promise<Readiness> {
  const check = (async (): Promise<Readiness> => {
    await sql`select 1`.execute(db);
    const pending = await pendingMigrations(db);
    return pending.length === 0 ? { ready: true } : { ready: false, reason: `migrations pending: ${pending.join(', ')}` };
  })().catch((error: unknown): Readiness => ({ ready: false, reason: `database unavailable: ${(error as Error).message}` }));
  return within(check, timeoutMs, () => ({ ready: false, reason: 'database did not answer in time' }));
}
