import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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
  const pid = leftoverServerPid(dir);
  if (pid !== undefined) {
    signal(pid, 'SIGQUIT');
    for (let i = 0; i < 500 && alive(pid); i++) await sleep(20);
  }
  rmSync(dir, { recursive: true, force: true });
}

function leftoverServerPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
