import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { constantTimeEqual } from '../src/lib/constant-time';
import { computeLyraFormSignature, computeLyraRestHash } from '../src/providers/lyra/signature';

/**
 * The floor the service is measured against: parse the form, verify its signature (a form
 * notification's HMAC-SHA-256, or a REST notification's `kr-hash`), one INSERT … ON CONFLICT DO
 * NOTHING of the fields as jsonb keyed by transaction, status and operation, reply OK. No audit,
 * no order, no outbox.
 */
const key = process.env.BASELINE_KEY ?? '';
const password = process.env.BASELINE_PASSWORD ?? '';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

interface Verified {
  id: string;
  fields: unknown;
}

function verify(fields: Record<string, string>): Verified | null {
  const answer = fields['kr-answer'];
  if (answer !== undefined) {
    if (!constantTimeEqual(fields['kr-hash'] ?? '', computeLyraRestHash(answer, password))) return null;
    const parsed = JSON.parse(answer) as { transactions: { uuid: string; detailedStatus: string; operationType: string }[] };
    const t = parsed.transactions[0];
    return { id: `${t?.uuid}|${t?.detailedStatus}|${t?.operationType}`, fields: parsed };
  }
  if (!constantTimeEqual(fields.signature ?? '', computeLyraFormSignature(fields, key, 'HMAC-SHA-256'))) return null;
  return { id: `${fields.vads_trans_uuid}|${fields.vads_trans_status}|${fields.vads_operation_type}`, fields };
}

async function main(): Promise<void> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_baseline (id text PRIMARY KEY, fields jsonb NOT NULL)');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const verified = verify(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
      if (verified === null) {
        res.writeHead(401).end('KO');
        return;
      }
      pool.query('INSERT INTO bench_baseline (id, fields) VALUES ($1, $2) ON CONFLICT DO NOTHING', [verified.id, JSON.stringify(verified.fields)]).then(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('OK'),
        () => res.writeHead(503).end('KO'),
      );
    });
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
}

void main();
