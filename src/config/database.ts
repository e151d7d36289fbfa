import { integer, parsed, text } from '../lib/variables';

function postgresUrl(raw: string): string {
  if (!/^postgres(ql)?:\/\//.test(raw)) throw new Error('must start with postgres:// or postgresql://');
  return raw;
}

/** Where the records live and how long raw bodies stay. */
export const DATABASE_VARIABLES = {
  url: parsed<string | undefined>('DATABASE_URL', undefined, 'unset: the embedded PostgreSQL under `DATA_DIR`', postgresUrl, {
    description: 'PostgreSQL URL; unset, an embedded PostgreSQL server (installed by `npm ci`, on a unix socket in `DATA_DIR`, no TCP port) keeps the data under `DATA_DIR`, shared by every process started on that folder',
    example: 'postgres://ipn:secret@db.internal:5432/ipn',
    secret: true,
  }),
  dataDir: text('DATA_DIR', { description: 'folder of the embedded PostgreSQL (`postgres/` and `postgres.log`); ignored when `DATABASE_URL` is set' }, './data'),
  poolSize: integer('DATABASE_POOL_SIZE', 10, 1, 200, { description: 'PostgreSQL connections in the pool' }),
  writeBatches: integer('DATABASE_WRITE_BATCHES', 1, 1, 50, {
    description: 'batches of notification writes running at once (the writes arriving meanwhile share the next batch\'s commit); one makes batches larger and cost PostgreSQL about a quarter less CPU per notification on a 2-core machine: raise it for a database server with many cores and a high notification rate',
  }),
  retentionDays: integer('RETENTION_DAYS', 90, 0, 36_500, { description: 'raw bodies of calls are emptied after this many days (`0` keeps them forever); the calls and notifications stay' }),
};
