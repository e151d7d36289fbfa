import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { connectionOf, PG_VERSION_CHECKED, PgProtocolChangedError } from '../../src/store/batched-writes';

/**
 * The batched writes drive pg's protocol layer (`client.connection`: `parsedStatements`, `parse`,
 * `bind`, `execute`, `sync`, `stream`), which pg does not document. These tests fail loudly, saying
 * what changed, when an upgrade of pg breaks what they rely on; the batched-write tests on
 * PostgreSQL then show whether the statements still run.
 */
describe("pg's protocol layer, as the batched writes use it", () => {
  const root = join(__dirname, '../..');
  const json = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8')) as { version: string; dependencies: Record<string, string> };

  it(`pins pg exactly to the version it was checked against (${PG_VERSION_CHECKED})`, () => {
    expect({ pinned: json('package.json').dependencies.pg }).toEqual({ pinned: PG_VERSION_CHECKED });
    expect({ installed: json('node_modules/pg/package.json').version }).toEqual({ installed: PG_VERSION_CHECKED });
  });

  it('finds every member it uses on a client of the installed pg', () => {
    const client = new pg.Client();
    const connection = connectionOf(client);
    expect(connection.parsedStatements).toEqual({});
  });

  it.each([
    ['client.connection is missing', {}],
    ['client.connection.parsedStatements is missing', { connection: { parse() {}, bind() {}, execute() {}, sync() {}, stream: {} } }],
    ['client.connection.bind() is missing', { connection: { parsedStatements: {}, parse() {}, execute() {}, sync() {}, stream: {} } }],
    ['client.connection.stream is missing', { connection: { parsedStatements: {}, parse() {}, bind() {}, execute() {}, sync() {} } }],
  ])('says what changed when %s', (what, client) => {
    expect(() => connectionOf(client as unknown as pg.ClientBase)).toThrow(PgProtocolChangedError);
    expect(() => connectionOf(client as unknown as pg.ClientBase)).toThrow(`${what}. Install the pg that package.json pins`);
  });
});
