import { sql, type Compilable, type Kysely } from 'kysely';
import type { Database } from '../../src/store/schema';

/** The plan PostgreSQL chooses for exactly the query a store function builds. */
export async function explain(db: Kysely<Database>, query: Compilable): Promise<string> {
  const compiled = query.compile();
  // EXPLAIN cannot take bind parameters on every driver: inline them, quoted as literals.
  const inlined = compiled.sql.replace(/\$(\d+)/g, (_, n: string) => literal(compiled.parameters[Number(n) - 1]));
  const { rows } = await sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN ${inlined}`).execute(db);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

function literal(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value instanceof Date) return `'${value.toISOString()}'`;
  return `'${String(value).replace(/'/g, "''")}'`;
}
