import type { Logger } from 'pino';
import type { DatabaseHandle } from './database';
import { vacuumAnalyze } from './maintenance';
import { purgeRawBodies } from './retention';

// Background upkeep of the database, on timers that never keep the process alive.

const EMBEDDED_MAINTENANCE_MS = 10 * 60_000;

export function scheduleEmbeddedMaintenance(database: DatabaseHandle, logger: Logger): NodeJS.Timeout {
  const timer = setInterval(() => {
    const started = Date.now();
    vacuumAnalyze(database.db).then(
      () => logger.debug({ ms: Date.now() - started }, 'embedded database vacuumed and analyzed'),
      (error: unknown) => logger.warn({ err: error }, 'embedded database maintenance failed'),
    );
  }, EMBEDDED_MAINTENANCE_MS);
  timer.unref();
  return timer;
}

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
