import type { Logger } from 'pino';
import type { DatabaseHandle } from './database';
import { purgeRawBodies } from './retention';

// Background upkeep of the database, on timers that never keep the process alive.

const RETENTION_EVERY_MS = 60 * 60_000;

/** Hourly, and once shortly after start: raw bodies older than RETENTION_DAYS are emptied in small batches. */
export function scheduleRetention(database: DatabaseHandle, days: number, logger: Logger): NodeJS.Timeout {
  const purge = () => {
    purgeRawBodies(database.db, days).then(
      (purged) => purged > 0 && logger.info({ purged, retentionDays: days }, 'raw bodies past retention purged'),
      (error: unknown) => logger.warn({ err: error }, 'retention purge failed; retried next hour'),
    );
  };
  setTimeout(purge, 60_000).unref();
  const timer = setInterval(purge, RETENTION_EVERY_MS);
  timer.unref();
  return timer;
}
