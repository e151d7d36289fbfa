import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/**
 * Names statements so that each connection parses and plans a statement text once, then only
 * binds and executes it. The ingest write is a large CTE: planning it on every notification
 * cost about a quarter of the database's time per request (bench/ingest.ts).
 *
 * A name is for the life of the process and is never reused for another text, because each
 * connection remembers which names it has prepared. The set is bounded; past it, statements
 * simply run unnamed.
 */
export class StatementNames {
  readonly #names = new Map<string, string>();

  constructor(private readonly capacity = 500) {}

  nameOf(text: string): string | undefined {
    const known = this.#names.get(text);
    if (known !== undefined || !isPreparable(text) || this.#names.size >= this.capacity) return known;
    const name = `ipn_${this.#names.size + 1}`;
    this.#names.set(text, name);
    return name;
  }

  get size(): number {
    return this.#names.size;
  }
}

const DATA_STATEMENT = /^\s*(?:with|select|insert|update|delete)\b/i;

/**
 * A prepared statement's result columns are fixed when it is prepared. With `*` in it, a column
 * added by a later migration (another instance's rolling deploy) would fail every execution on
 * that connection ("cached plan must not change result type"), so such texts run unnamed.
 */
function isPreparable(text: string): boolean {
  return DATA_STATEMENT.test(text) && !text.includes('*');
}

/** Kysely's view of the pool, with every data statement sent as a named (prepared) statement. */
export function preparingPool(pool: pg.Pool, names: StatementNames = new StatementNames()): PostgresPool {
  return {
    connect: async () => preparingClient(await pool.connect(), names),
    end: () => pool.end(),
  };
}

function preparingClient(client: pg.PoolClient, names: StatementNames): PostgresPoolClient {
  function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  function query<R>(textOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof textOrCursor !== 'string') return client.query(textOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    const values = parameters === undefined ? [] : [...parameters];
    const name = names.nameOf(textOrCursor);
    const config: pg.QueryConfig = name === undefined ? { text: textOrCursor, values } : { name, text: textOrCursor, values };
    return client.query(config) as unknown as Promise<PostgresQueryResult<R>>;
  }
  return { query, release: () => client.release() };
}
