import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachEmbeddedPostgres, type EmbeddedPostgres } from '../../src/store/embedded-postgres';

/** The variable through which the test files find the suite's embedded server. */
export const EMBEDDED_TEST_SERVER_URL = 'IPN_EMBEDDED_TEST_SERVER_URL';

const state = globalThis as { embeddedTestServer?: { server: EmbeddedPostgres; dataDir: string } };

/**
 * Jest's global setup: without TEST_DATABASE_URL, one embedded PostgreSQL server, started by the
 * service's own code, holds every test file's database (each file creates its own). The test
 * workers inherit the variable set here.
 */
export default async function startEmbeddedTestServer(): Promise<void> {
  if ((process.env.TEST_DATABASE_URL ?? '') !== '') return;
  const dataDir = mkdtempSync(join(tmpdir(), 'ipn-test-server-'));
  // As root, the server runs as nobody, which must be able to enter the folder.
  chmodSync(dataDir, 0o755);
  // Many test files at once, each with its pools and listeners.
  const server = await attachEmbeddedPostgres({ dataDir, settings: { max_connections: '400' } });
  process.env[EMBEDDED_TEST_SERVER_URL] = server.url;
  state.embeddedTestServer = { server, dataDir };
}

export async function stopEmbeddedTestServer(): Promise<void> {
  const started = state.embeddedTestServer;
  if (started === undefined) return;
  await started.server.detach();
  rmSync(started.dataDir, { recursive: true, force: true });
}
