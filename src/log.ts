import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths never logged in clear. The service logs normalized fields, not request bodies; these
 * paths guard against a secret reaching a log line through an object passed by mistake.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.key',
  '*.testKey',
  '*.productionKey',
  '*.password',
  '*.testPassword',
  '*.productionPassword',
  '*.signature',
  '*.secret',
  '*.token',
  '*.email',
  '*.cardNumber',
  '*.vads_card_number',
  '*.vads_cust_email',
  '*["kr-hash"]',
  '*["kr-answer"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'ipn-receiver' } };
  // Asynchronous writes keep logging off the request path; pino flushes on exit.
  return pino(options, destination ?? pino.destination({ sync: false }));
}
