import type pg from 'pg';
import type { StatementNames } from './prepared';
import { PAST_DEADLINE } from './sqlstate';

/** One write waiting for its batch: a prepared statement's text and parameters. */
interface PendingWrite {
  text: string;
  values: readonly unknown[];
  /** Writes of one batch run in this order: the same order in every batch means no lock cycle. */
  lockKey: string;
  commitBy: Date | null;
  resolve(fields: (string | null)[]): void;
  reject(error: unknown): void;
}

/** What the protocol layer of `pg` offers a submittable (its `Connection`, partly typed upstream). */
interface ProtocolConnection {
  parsedStatements: Record<string, string>;
  stream: { cork?: () => void; uncork?: () => void };
  parse(query: { text: string; name: string; types: number[] }, more: boolean): void;
  bind(config: { portal: string; statement: string; values: (string | Buffer | null)[] }, more: boolean): void;
  execute(config: { portal: string }, more: boolean): void;
  sync(): void;
}

type Callback = (error: Error | null, rows?: (string | null)[][]) => void;

/**
 * Largest batch. Each statement checks its deadline at its own end, and the batch commits after
 * its last statement: a bounded batch keeps that gap within the deadline's commit margin.
 */
const MAX_BATCH = 32;


/**
 * Sends concurrent ingest writes to PostgreSQL together: the statements of one batch go out in
 * one network write, run one after the other in one implicit transaction (the extended protocol
 * commits at the Sync that ends them), and come back in one read. Per write, that saves a round
 * trip, a commit and its WAL flush: on the benchmark, PostgreSQL's CPU per notification halved.
 *
 * No timer: a write goes out at once while fewer than `maxInFlight` batches are running, so a
 * lone notification waits for nothing; under load, the writes that arrive meanwhile form the
 * next batch. A batch is all or nothing: when one of its statements fails (a notification
 * recorded meanwhile, its deadline passed), that statement is sent again alone and the others
 * again together, so each caller gets its own statement's outcome and one failure costs the
 * others a round trip, not their shared commit.
 */
export class WriteBatcher {
  #queue: PendingWrite[] = [];
  #inFlight = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly names: StatementNames,
    private readonly maxInFlight: number,
  ) {}

  /** The first row of the statement's result, as text fields. */
  write(text: string, values: readonly unknown[], lockKey: string, commitBy: Date | null): Promise<(string | null)[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ text, values, lockKey, commitBy, resolve, reject });
      this.#drain();
    });
  }

  #drain(): void {
    while (this.#inFlight < this.maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH).filter(stillInTime);
      if (batch.length === 0) continue;
      batch.sort((a, b) => (a.lockKey < b.lockKey ? -1 : a.lockKey > b.lockKey ? 1 : 0));
      this.#inFlight++;
      void this.#run(batch).finally(() => {
        this.#inFlight--;
        this.#drain();
      });
    }
  }

  async #run(batch: PendingWrite[]): Promise<void> {
    try {
      const rows = await this.#execute(batch);
      batch.forEach((w, i) => w.resolve(rows[i] ?? []));
    } catch (error) {
      if (batch.length === 1) return (batch[0] as PendingWrite).reject(error);
      const failed = failedIndexOf(error);
      // A lost connection says nothing of which write failed: each is sent alone.
      if (failed === undefined) return void (await Promise.all(batch.map((w) => this.#run([w]))));
      // The failing write alone gets its own outcome; the rest, rolled back with it or never run,
      // go again as one batch and still share one commit.
      const rest = batch.filter((_, i) => i !== failed);
      await Promise.all([this.#run([batch[failed] as PendingWrite]), this.#run(rest)]);
    }
  }

  async #execute(batch: readonly PendingWrite[]): Promise<(string | null)[][]> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await this.#prepare(client, batch);
      return await new Promise<(string | null)[][]>((resolve, reject) => {
        client.query(new PipelinedExecutions(batch.map((w) => ({ name: this.#nameOf(w.text), values: w.values })), (error, rows) => (error === null ? resolve(rows ?? []) : reject(error))));
      });
    } catch (error) {
      // A statement's own error leaves the connection usable; anything else (a lost or timed-out
      // connection) must not go back to the pool.
      if (!isStatementError(error)) broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Parses, in a round trip of their own, the statements this connection does not know yet. */
  async #prepare(client: pg.PoolClient, batch: readonly PendingWrite[]): Promise<void> {
    for (const text of new Set(batch.map((w) => w.text))) {
      const name = this.#nameOf(text);
      if (connectionOf(client).parsedStatements[name] === text) continue;
      await new Promise<void>((resolve, reject) => {
        client.query(new ParseOnly(name, text, (error) => (error === null ? resolve() : reject(error))));
      });
    }
  }

  #nameOf(text: string): string {
    const name = this.names.nameOf(text);
    if (name === undefined) throw new Error('a batched write must be a preparable statement');
    return name;
  }
}

/** A write whose deadline passed while it waited is not sent: it could only roll back. */
function stillInTime(w: PendingWrite): boolean {
  if (w.commitBy === null || w.commitBy.getTime() > Date.now()) return true;
  w.reject(Object.assign(new Error('the reply deadline passed before the write was sent'), { code: PAST_DEADLINE }));
  return false;
}

/** Which statement of a batch raised the error: set by PipelinedExecutions on the errors it reports. */
const FAILED_INDEX = Symbol('failed statement of the batch');

function failedIndexOf(error: unknown): number | undefined {
  const index = (error as { [FAILED_INDEX]?: unknown } | null)?.[FAILED_INDEX];
  return typeof index === 'number' ? index : undefined;
}

function isStatementError(error: unknown): boolean {
  return typeof (error as { severity?: unknown } | null)?.severity === 'string';
}

/**
 * The `pg` these writes were checked against. They drive its protocol layer, which is not a
 * public API: `package.json` pins this version exactly, and a test fails when they differ.
 */
export const PG_VERSION_CHECKED = '8.16.3';

/** `pg`'s protocol layer is not what the batched writes were written for: stop, saying what changed. */
export class PgProtocolChangedError extends Error {
  constructor(what: string) {
    super(`pg's protocol layer changed (batched writes were checked against pg ${PG_VERSION_CHECKED}): ${what}. Install the pg that package.json pins, or update src/store/batched-writes.ts to the new one.`);
  }
}

/** The client's protocol connection, after checking every member the batched writes use. */
export function connectionOf(client: pg.ClientBase): ProtocolConnection {
  const connection = (client as unknown as { connection?: Partial<ProtocolConnection> }).connection;
  if (typeof connection !== 'object' || connection === null) throw new PgProtocolChangedError('client.connection is missing');
  if (typeof connection.parsedStatements !== 'object' || connection.parsedStatements === null) throw new PgProtocolChangedError('client.connection.parsedStatements is missing');
  for (const method of ['parse', 'bind', 'execute', 'sync'] as const) {
    if (typeof connection[method] !== 'function') throw new PgProtocolChangedError(`client.connection.${method}() is missing`);
  }
  if (typeof connection.stream !== 'object' || connection.stream === null) throw new PgProtocolChangedError('client.connection.stream is missing');
  return connection as ProtocolConnection;
}

/** Parse and Sync: `pg` records the statement as parsed on this connection once PostgreSQL confirms it. */
class ParseOnly implements pg.Submittable {
  constructor(
    readonly name: string,
    readonly text: string,
    readonly callback: (error: Error | null) => void,
  ) {}

  submit(connection: pg.Connection): void {
    const c = connection as unknown as ProtocolConnection;
    c.parse({ text: this.text, name: this.name, types: [] }, false);
    c.sync();
  }

  handleError(error: Error): void {
    this.callback(error);
  }

  handleReadyForQuery(): void {
    this.callback(null);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/**
 * Bind and Execute of each prepared statement, then one Sync: PostgreSQL runs them in
 * one implicit transaction, committed at the Sync, or rolled back whole at the first error.
 */
class PipelinedExecutions implements pg.Submittable {
  readonly #rows: (string | null)[][] = [];
  #index = 0;

  constructor(
    private readonly executions: readonly { name: string; values: readonly unknown[] }[],
    readonly callback: Callback,
  ) {}

  submit(connection: pg.Connection): void {
    const c = connection as unknown as ProtocolConnection;
    c.stream.cork?.();
    try {
      for (const e of this.executions) {
        c.bind({ portal: '', statement: e.name, values: e.values.map(wireValue) }, false);
        c.execute({ portal: '' }, false);
      }
      c.sync();
    } finally {
      c.stream.uncork?.();
    }
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    // Each statement returns one row; only the first row of each is kept.
    this.#rows[this.#index] ??= message.fields;
  }

  handleCommandComplete(): void {
    this.#index++;
  }

  handleError(error: Error): void {
    // Every statement before this one completed, so the count of completions is its index.
    if (isStatementError(error)) Object.defineProperty(error, FAILED_INDEX, { value: this.#index });
    this.callback(error);
  }

  handleReadyForQuery(): void {
    this.callback(null, this.#rows);
  }

  handleRowDescription(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/** Parameters in the text format, as `pg` sends them; the ingest passes only these types. */
function wireValue(value: unknown): string | Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw new TypeError(`a batched write cannot send a parameter of type ${typeof value}`);
}
