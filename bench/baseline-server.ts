import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { constantTimeEqual } from '../src/lib/constant-time';
import { computeLyraFormSignature } from '../src/providers/lyra/signature';

/**
 * The floor the service is measured against: parse the form, verify the HMAC-SHA-256 signature,
 * one INSERT … ON CONFLICT DO NOTHING of the fields as jsonb, reply OK. No audit, no order, no outbox.
 */
const key = process.env.BASELINE_KEY ?? '';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

async function main(): Promise<void> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_baseline (id text PRIMARY KEY, fields jsonb NOT NULL)');
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const signature = fields.signature ?? '';
      if (!constantTimeEqual(signature, computeLyraFormSignature(fields, key, 'HMAC-SHA-256'))) {
        res.writeHead(401).end('KO');
        return;
      }
      pool.query('INSERT INTO bench_baseline (id, fields) VALUES ($1, $2) ON CONFLICT DO NOTHING', [fields.vads_trans_uuid, JSON.stringify(fields)]).then(
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
