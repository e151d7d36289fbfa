/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  // Each test file creates its own database, on the embedded PostgreSQL server started here, or on
  // the server of TEST_DATABASE_URL.
  globalSetup: '<rootDir>/test/setup/embedded-server.ts',
  globalTeardown: '<rootDir>/test/setup/embedded-server-teardown.ts',
  testTimeout: 60000,
  // After each file: no configured secret or card data in any log line it produced.
  setupFilesAfterEnv: ['<rootDir>/test/setup/scan-logs.ts'],
  maxWorkers: 2,
};
