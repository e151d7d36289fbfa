/**
 * A process that attaches to the embedded PostgreSQL of the folder given as its argument, prints
 * `attached`, and holds on until it is killed: the test of a service killed outright.
 */
import { attachEmbeddedPostgres } from '../../src/store/embedded-postgres';

void attachEmbeddedPostgres({ dataDir: process.argv[2] ?? '' }).then(
  () => process.stdout.write('attached\n'),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
setInterval(() => undefined, 60_000);
