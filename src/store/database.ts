import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { WriteBatcher } from './batched-writes';
import { attachEmbeddedPostgres } from './embedded-postgres';
import { NotificationIds } from './notification-ids';
import { OrderCache } from './order-cache';
import { preparingPool, StatementNames } from './prepared';
import type { Database } from './schema';

export type DatabaseKind = 'postgres' | 'embedded';

export type Unlisten = () => Promise<void>;

/** An open database and every state kept per database, shared by all that use it. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** Notification ids drawn from the sequence ahead of the write, a block shared by every request. */
  notificationIds: NotificationIds;
  /** The orders this process last wrote or read, to decide follow-ups on without a read (store/order-cache.ts). */
  orders: OrderCache;
  /** The ingest writes' batches of one commit; none when the option is unset (the command-line tools). */
  writeBatcher: WriteBatcher | undefined;
  /**
   * Calls `onNotify` for each NOTIFY on `channel` (payloads are not used). A dedicated
   * connection listens and reconnects after a loss, calling `onNotify` once it is back
   * so the caller catches up on anything it missed meanwhile.
   */
  listen: (channel: string, onNotify: () => void) => Promise<Unlisten>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; unset opens the embedded PostgreSQL of `dataDir` (store/embedded-postgres.ts). */
  url: string | undefined;
  /** Folder of the embedded database. */
  dataDir: string;
  poolSize: number;
  /**
   * Batches of ingest writes running at once (store/batched-writes.ts); the writes
   * that arrive meanwhile wait for the next batch and share its commit. Unset: each write is its
   * own statement (the command-line tools write little).
   */
  writeBatches?: number;
  /** Upper bound of any one statement, so a stalled database cannot hold a request forever. */
  statementTimeoutMs: number;
  logger?: Logger;
}

const INT8_OID = 20;

// int8 columns (ids, amounts) as numbers, not pg's strings. Values stay far below 2^53 (amounts are
// minor units, ids are row counts).
const parseInt8 = (value: string): number => Number(value);
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url !== undefined) return openPostgres(options.url, options);
  const server = await attachEmbeddedPostgres({ dataDir: options.dataDir, logger: options.logger });
  const handle = openPostgres(server.url, options);
  return {
    ...handle,
    kind: 'embedded',
    async close() {
      await handle.close();
      await server.detach();
    },
  };
}

function openPostgres(url: string, options: DatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    application_name: 'ipn-receiver',
    connectionTimeoutMillis: options.statementTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + 1000,
    idle_in_transaction_session_timeout: options.statementTimeoutMs * 2,
    types: pgTypes,
  });
  // A client losing its connection must not crash the process. The pool handles idle clients;
  // a checked-out client between two statements of a transaction has no listener of its own, so
  // every client gets one: its query fails, and the pool drops it instead of reusing it.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'database connection lost'));
  pool.on('connect', (client) => {
    client.on('error', (error) => options.logger?.warn({ err: error }, 'database connection lost during use'));
  });
  const names = new StatementNames();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool, names) }) });
  const writeBatcher = options.writeBatches === undefined ? undefined : new WriteBatcher(pool, names, options.writeBatches);
  return { db, kind: 'postgres', notificationIds: new NotificationIds(db), orders: new OrderCache(), writeBatcher, listen: (channel, onNotify) => listenPostgres(url, channel, onNotify, options.logger), close: () => db.destroy() };
}

const LISTEN_RECONNECT_MS = 1000;

async function listenPostgres(url: string, channel: string, onNotify: () => void, logger: Logger | undefined): Promise<Unlisten> {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, application_name: 'ipn-receiver-listen', types: pgTypes });
    next.on('notification', () => onNotify());
    next.on('error', (error) => {
      logger?.warn({ err: error, channel }, 'listen connection lost; polling until it is back');
      reconnect(next);
    });
    next.on('end', () => reconnect(next));
    client = next;
    await next.connect();
    await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
  };
  const reconnect = (lost: pg.Client): void => {
    if (closed || client !== lost || retry !== undefined) return;
    client = null;
    lost.end().catch(() => undefined);
    retry = setTimeout(() => {
      retry = undefined;
      connect()
        .then(() => onNotify())
        .catch((error: unknown) => {
          logger?.warn({ err: error, channel }, 'listen reconnection failed');
          if (client !== null) reconnect(client);
        });
    }, LISTEN_RECONNECT_MS);
  };

  try {
    await connect();
  } catch (error) {
    logger?.warn({ err: error, channel }, 'cannot listen for notifications; polling until it can');
    if (client !== null) reconnect(client);
  }
  return async () => {
    closed = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
