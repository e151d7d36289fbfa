import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopEmbeddedPostgres } from '../../src/store/embedded-postgres';

/**
 * A new, empty DATA_DIR for a spawned service. Open to other users for reading: as root (CI), the
 * embedded PostgreSQL runs as nobody, which must be able to enter the folder.
 */
export function newDataDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Removes a DATA_DIR, first stopping the embedded PostgreSQL that a killed service left running in
 * it (a service stopped gracefully has stopped it already).
 */
export async function removeDataDir(dir: string): Promise<void> {
  await stopEmbeddedPostgres(dir);
  rmSync(dir, { recursive: true, force: true });
}
