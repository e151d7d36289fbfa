/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  // Each test file opens its own database (PGlite in memory, or a fresh PostgreSQL database).
  testTimeout: 60000,
  // After each file: no configured secret or card data in any log line it produced.
  setupFilesAfterEnv: ['<rootDir>/test/setup/scan-logs.ts'],
  maxWorkers: 2,
};
