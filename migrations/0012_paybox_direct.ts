import { sql, type Kysely } from 'kysely';

// What asking Paybox Direct about a transaction needs.
const statements = [
  // NUMQUESTION: unique per site, and never handed out twice, whatever the number of instances
  // and restarts. One sequence serves every site (unique across them all is unique per site); it
  // stops at Paybox's largest number, 2,147,483,647, rather than start over: at a question a
  // second that is 68 years away.
  `CREATE SEQUENCE paybox_direct_questions AS bigint MINVALUE 1 MAXVALUE 2147483647 NO CYCLE`,
  // Paybox's call number T (NUMAPPEL), asked with the transaction number S: kept as a column,
  // since the raw call that also holds it may be erased.
  `ALTER TABLE notifications ADD COLUMN call_number text`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
