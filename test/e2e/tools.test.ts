import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createTestApp } from '../helpers/app';
import { openTestDatabase, withServiceDatabase, type TestDatabase } from '../helpers/database';
import { sendForm } from '../helpers/lyra';
import { freePort, root, startService, waitReady, type Service } from '../helpers/service';
import { newDataDir, removeDataDir } from '../helpers/data-dir';

/** `npm run audit` and `npm run purge`, as an operator runs them on the server, while the service runs. */
describe('operator commands', () => {
  let database: TestDatabase | null = null;
  let dataDir: string;
  let env: Record<string, string>;
  let service: Service;
  let port: number;

  beforeAll(async () => {
    dataDir = newDataDir('ipn-tools-');
    if (process.env.TEST_DATABASE_URL) database = await openTestDatabase();
    env = database === null ? { DATA_DIR: dataDir, DATABASE_URL: '' } : { DATABASE_URL: database.url };
    port = await freePort();
    service = startService({ ...env, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn' });
    await waitReady(port, service);
    await withServiceDatabase(database, dataDir, async (handle) => {
      const { app } = createTestApp(handle);
      await sendForm(app, { orderId: 'CLI-1', status: 'AUTHORISED' }).expect(200);
      await sendForm(app, { orderId: 'CLI-2', status: 'REFUSED' }).expect(200);
      await sql`UPDATE deliveries SET received_at = now() - interval '100 days' WHERE id = 1`.execute(handle.db);
    });
  });
  afterAll(async () => {
    if (service.process.exitCode === null) service.process.kill('SIGKILL');
    await database?.close();
    await removeDataDir(dataDir);
  });

  const run = (tool: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', `src/tools/${tool}.ts`, ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8' });

  it('audit prints an order, a notification and the dead events as JSON', () => {
    const order = run('audit', '--order', 'CLI-1');
    expect(order.status).toBe(0);
    const [view] = JSON.parse(order.stdout) as { status: string; transactions: { history: { statusRaw: string }[] }[] }[];
    expect(view?.status).toBe('PAID');
    expect(view?.transactions[0]?.history[0]?.statusRaw).toBe('AUTHORISED');

    const notification = run('audit', '--notification', '1');
    expect(JSON.parse(notification.stdout)).toMatchObject({ orderId: 'CLI-1', raw: { fields: { signature: '[redacted]' } } });
    expect(JSON.parse(run('audit', '--outbox', 'dead').stdout)).toEqual([]);
    expect(JSON.parse(run('audit', '--notifications', '--status', 'refused').stdout)).toHaveLength(1);

    const wrong = run('audit', '--notification', 'one');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('--notification must be a positive whole number');
    expect(run('audit').stderr).toContain('npm run audit -- <one of>');
  });

  it('purge empties the bodies past RETENTION_DAYS once, and only those', () => {
    const first = run('purge');
    expect(first.stdout).toContain('purged the raw bodies of 1 call(s) older than 90 days');
    expect(run('purge').stdout).toContain('purged the raw bodies of 0 call(s)');
    expect(JSON.parse(run('audit', '--notification', '1').stdout)).toMatchObject({ raw: null });
    expect(JSON.parse(run('audit', '--notification', '2').stdout)).toMatchObject({ raw: { fields: { vads_order_id: 'CLI-2' } } });
  });

  it('leave the service running on its database, which stops with the service', async () => {
    // Ready still (waitReady retries: a kept-alive connection from before may have been closed).
    await waitReady(port, service);
    service.process.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
