import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, root, startService, tsx, waitForOutput, waitReady, type Service } from '../helpers/service';
import { newDataDir, removeDataDir } from '../helpers/data-dir';

function simulate(port: number, ...args: string[]): string {
  const result = spawnSync(tsx, ['src/tools/simulate.ts', ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '', PORT: String(port) }, encoding: 'utf8' });
  return result.stdout + result.stderr;
}

describe('the running service (npm start, npm run simulate)', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = newDataDir('ipn-e2e-');
  });
  const started: Service[] = [];
  const start = (env: Record<string, string>): Service => {
    const service = startService(env);
    started.push(service);
    return service;
  };
  // A failed test leaves no service behind.
  afterAll(async () => {
    for (const service of started) if (service.process.exitCode === null) service.process.kill('SIGKILL');
    await removeDataDir(dataDir);
  });

  it('starts with no configuration, accepts simulated notifications, stops on SIGTERM, restarts with its data', async () => {
    const port = await freePort();
    const env = { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, NODE_ENV: 'development', LYRA_SHOPS: '', PAYBOX_SITES: '', STRIPE_ENDPOINTS: '', PAYLINE_MERCHANTS: '', DATABASE_URL: '' };
    const first = start(env);
    await waitReady(port, first);
    await waitForOutput(first, '"msg":"listening"');
    expect(first.output()).toContain('DEMO CONFIGURATION');
    // No ORDER_EVENTS_URL: no relay, said once; the events stay in the outbox.
    expect(first.output().split('ORDER_EVENTS_URL is unset').length - 1).toBe(1);

    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1')).toContain('form AUTHORISED order E2E-1 -> HTTP 200  OK-applied: order E2E-1: AUTHORISED, order PAID');
    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1', '--resend')).toContain('HTTP 200  OK-duplicate');
    expect(simulate(port, '--format', 'rest', '--status', 'CAPTURED', '--order', 'E2E-1')).toContain('HTTP 200  OK-applied: order E2E-1: CAPTURED, order stays PAID');
    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1', '--key', 'wrong')).toContain('HTTP 401  KO-authentication failed: signature does not match');

    // The demo's Paybox site trusts the simulator key: a refused attempt by GET, a paid one by POST.
    const paybox = (...args: string[]) => simulate(port, '--provider', 'paybox', '--order', 'E2E-P', ...args);
    expect(paybox('--error', '00151', '--call', '11')).toContain('paybox 00151 order E2E-P -> HTTP 200  (empty page)');
    expect(paybox('--call', '12', '--method', 'POST')).toContain('paybox 00000 order E2E-P -> HTTP 200  (empty page)');
    const otherKey = join(mkdtempSync(join(tmpdir(), 'ipn-key-')), 'other.pem');
    writeFileSync(otherKey, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(paybox('--call', '13', '--private-key', otherKey)).toContain('HTTP 401  KO-authentication failed: signature does not verify with the Paybox public key(s)');
    // Paybox Direct: the service asks the fake the simulator starts, with the demo's operator token.
    expect(paybox('--operation', 'refund', '--amount', '1000')).toContain('paybox refund order E2E-P -> HTTP 200  {"result":"accepted","code":"00000","comment":"Demande traitée avec succès","orderStatus":"PAID"');
    expect(paybox('--operation', 'refund', '--failover')).toMatch(/HTTP 200 {2}\{"result":"accepted".*"orderStatus":"REFUNDED".*\[fake Paybox Direct asked: secondary TYPE 00014 → 00000\]/);

    // A notification lost for good, found by the reconciliation through the fake Lyra API.
    const lost = simulate(port, '--lose', '--order', 'E2E-LOST');
    expect(lost).toContain('1. the shop expects order E2E-LOST (4990 EUR cents): POST /api/v1/expected-payments -> HTTP 201');
    expect(lost).toMatch(/3\. the reconciliation asks Lyra \(Order\/Get\), as the worker does at its sweep: HTTP 200 {2}\{"checked":1,"changed":1,"outcome":"changed","orderStatus":"PAID"/);

    // The demo's Stripe endpoint: a failed attempt, then the success, then a refund of part of it.
    const stripe = (...args: string[]) => simulate(port, '--provider', 'stripe', '--order', 'E2E-S', '--payment-intent', 'pi_E2E', ...args);
    expect(stripe('--type', 'payment_intent.payment_failed', '--charge', 'ch_1')).toContain('stripe payment_intent.payment_failed order E2E-S -> HTTP 200  OK-applied: order E2E-S: payment_intent.payment_failed, order stays PENDING');
    expect(stripe('--event', 'evt_e2e_paid')).toContain('HTTP 200  OK-applied: order E2E-S: payment_intent.succeeded, order PAID');
    expect(stripe('--event', 'evt_e2e_paid')).toContain('HTTP 200  OK-duplicate');
    expect(stripe('--type', 'refund.created', '--amount', '1000', '--refund', 're_1')).toContain('HTTP 200  OK-applied: order E2E-S: refund.created, order stays PAID');
    expect(stripe('--secret', 'whsec_notTheEndpointSecret')).toContain('HTTP 401  KO-authentication failed: no v1 signature matches the endpoint secret(s)');

    // The demo's Payline merchant fetches from the fake Payline the simulator starts, failing over when told.
    const payline = (...args: string[]) => simulate(port, '--provider', 'payline', '--order', 'E2E-L', ...args);
    expect(payline('--code', '01100', '--transaction', 'TXL1')).toContain('payline 01100 order E2E-L -> HTTP 200  OK-applied: order E2E-L: 01100, order FAILED   [fake Payline endpoints called: a]');
    expect(payline('--transaction', 'TXL2', '--failover')).toContain('HTTP 200  OK-applied: order E2E-L: 00000, order PAID   [fake Payline endpoints called: a, b (after HTTP_503)]');

    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = start(env);
    await waitReady(port, second);
    await waitForOutput(second, '"msg":"listening"');
    expect(second.output()).toMatch(/"applied":\[\]/);
    expect(simulate(port, '--status', 'AUTHORISED', '--order', 'E2E-1')).toContain('OK-duplicate');
    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Two starts and some twenty processes of the simulator: minutes on a busy machine, not a hang.
  }, 240_000);

  it('refuses to start in production without LYRA_SHOPS, naming the variable', async () => {
    const service = start({ NODE_ENV: 'production', LYRA_SHOPS: '', DATA_DIR: dataDir });
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain('ipn-receiver: invalid configuration: LYRA_SHOPS: is required in production');
  });
});
