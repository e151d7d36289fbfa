import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/log';

/**
 * Every log line of the test file: the apps the tests build and the services they spawn write
 * here, and `test/setup/scan-logs.ts` searches it for secrets after the file's last test.
 */
export const capturedLogs: string[] = [];

export function capturingLogger(level = 'debug'): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      capturedLogs.push(chunk.toString());
      done();
    },
  });
  return createLogger(level, sink);
}
