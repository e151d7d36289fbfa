import { sql } from 'kysely';
import { MAX_QUESTION_NUMBER } from '../../src/providers/paybox/direct';
import { openDatabase } from '../../src/store/database';
import { nextPayboxQuestion } from '../../src/store/paybox-questions';
import { openTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe('Paybox Direct question numbers', () => {
  it('are distinct across concurrent draws and across instances of the service', async () => {
    const other = await openDatabase({ url: database.url, dataDir: '', poolSize: 4, statementTimeoutMs: 10_000 });
    try {
      const drawn = await Promise.all(Array.from({ length: 200 }, (_, i) => nextPayboxQuestion(i % 2 === 0 ? database.db : other.db)));
      expect(new Set(drawn).size).toBe(200);
      expect(drawn.every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_QUESTION_NUMBER)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("stop at Paybox's largest NUMQUESTION rather than start over", async () => {
    const { rows } = await sql<{ max_value: string; cycle: boolean }>`SELECT max_value::text, cycle FROM pg_sequences WHERE sequencename = 'paybox_direct_questions'`.execute(database.db);
    expect(rows[0]).toEqual({ max_value: String(MAX_QUESTION_NUMBER), cycle: false });
  });
});
