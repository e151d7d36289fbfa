import { sql } from 'kysely';
import { StatementNames } from '../../src/store/prepared';
import { openTestDatabase, type TestDatabase } from '../helpers/database';

describe('StatementNames', () => {
  it('gives one stable name per data statement text and a new one per new text', () => {
    const names = new StatementNames();
    const a = names.nameOf('select "id" from "orders" where "id" = $1');
    const b = names.nameOf('insert into "orders" ("id") values ($1)');
    expect(a).toBe('ipn_1');
    expect(b).toBe('ipn_2');
    expect(names.nameOf('select "id" from "orders" where "id" = $1')).toBe(a);
  });

  it('leaves transaction control and texts with * unnamed', () => {
    const names = new StatementNames();
    for (const text of ['begin', 'commit', 'rollback', 'select * from "orders"', 'select "orders".* from "orders"', 'select count(*) from "orders"', 'VACUUM (ANALYZE)']) {
      expect(names.nameOf(text)).toBeUndefined();
    }
    expect(names.size).toBe(0);
  });

  it('stops naming new texts at its capacity and keeps the names it gave', () => {
    const names = new StatementNames(2);
    expect(names.nameOf('select 1')).toBe('ipn_1');
    expect(names.nameOf('select 2')).toBe('ipn_2');
    expect(names.nameOf('select 3')).toBeUndefined();
    expect(names.nameOf('select 1')).toBe('ipn_1');
  });
});

describe('prepared statements', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database.close());

  it('prepares a named-column query once per connection and sends `*` queries unnamed', async () => {
    await database.db.connection().execute(async (connection) => {
      for (let i = 0; i < 3; i++) await connection.selectFrom('orders').select(['id', 'status']).where('id', '=', i).execute();
      await connection.selectFrom('orders').selectAll().where('id', '=', 1).execute();
      const { rows } = await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'select%from "orders"%'`.execute(connection);
      expect(rows.map((r) => r.statement)).toEqual(['select "id", "status" from "orders" where "id" = $1']);
    });
  });

  it('a prepared statement keeps working after a migration adds a column', async () => {
    await database.db.connection().execute(async (connection) => {
      const read = () => connection.selectFrom('orders').select(['id', 'status']).where('order_id', '=', 'P-1').execute();
      await read();
      await sql`ALTER TABLE orders ADD COLUMN prepared_probe text`.execute(connection);
      try {
        await expect(read()).resolves.toEqual([]);
      } finally {
        await sql`ALTER TABLE orders DROP COLUMN prepared_probe`.execute(connection);
      }
    });
  });
});
