// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/**
 * The layers (docs/architecture.md): what each folder of src/ may import. A pattern matches the
 * import as written, relative paths included: under('store') matches ../store/x and ../../store/x.
 */
const under = (folder) => ['..', '../..'].flatMap((up) => [`${up}/${folder}`, `${up}/${folder}/**`]);
/** Modules that do I/O: the network, files, processes, the database, logs and metrics. */
const IO_MODULES = ['node:fs', 'node:fs/promises', 'node:http', 'node:https', 'node:net', 'node:tls', 'node:dns', 'node:dgram', 'node:child_process', 'pg', 'kysely', 'undici', 'express', 'pino', 'pino-http', 'prom-client', 'raw-body'];
/** Everything a pure layer may not import: the layers that do I/O, the configuration and the tools. */
const IMPURE_LAYERS = [...['store', 'outbound', 'outbox', 'ingest', 'http', 'audit', 'tools'].flatMap(under), ...['config', 'metrics', 'log'].flatMap(under)];
const PROVIDERS = ['lyra', 'paybox', 'stripe', 'payline'];

const pure = (folder) => ({
  paths: IO_MODULES.map((name) => ({ name, message: `${folder}/ is pure (parse, verify, decide): no I/O here; the caller does it and passes the result in.` })),
  patterns: [{ group: IMPURE_LAYERS, message: `${folder}/ is pure: it may import domain/, lib/ and providers/ only.` }],
});
const belowHttp = { patterns: [{ group: under('http'), message: 'http/ is the top layer: nothing below it imports it.' }] };
const otherProviders = (name) => ({
  patterns: [{ group: PROVIDERS.filter((other) => other !== name).flatMap((other) => [`../${other}`, `../${other}/**`]), message: 'a provider never imports another provider: move what they share to providers/.' }],
});

/** One rule per folder (ESLint replaces a rule's options rather than merging them, so the globs never overlap). */
const layer = (files, ...restrictions) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', { paths: restrictions.flatMap((r) => r.paths ?? []), patterns: restrictions.flatMap((r) => r.patterns ?? []) }],
  },
});
const layerRules = [
  layer(['src/domain/**'], pure('domain'), belowHttp),
  layer(['src/providers/*.ts'], pure('providers'), belowHttp),
  ...PROVIDERS.map((name) => layer([`src/providers/${name}/**`], pure('providers'), belowHttp, otherProviders(name))),
  // The HTTP layer runs no SQL: it calls ingest/ (and audit/), and only names the store's types it passes along.
  layer(['src/http/**'], { patterns: [{ group: under('store'), allowTypeImports: true, message: 'http/ runs no SQL: call ingest/ (types only from store/).' }] }),
  // The store runs SQL for the layers above it and knows none of them.
  layer(['src/store/**'], { patterns: [{ group: [...['http', 'ingest', 'outbound', 'outbox', 'audit', 'config'].flatMap(under)], message: 'store/ only runs SQL: it imports domain/, lib/ and its own modules.' }] }),
  layer(['src/{audit,ingest,lib,outbound,outbox}/**'], belowHttp),
];

module.exports = tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', '*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
      eqeqeq: 'error',
    },
  },
  { files: ['src/tools/**', 'bench/**'], rules: { 'no-console': 'off' } },
  // The build script is plain CommonJS run by node before anything is compiled: linted without types.
  {
    files: ['scripts/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', process: 'readonly', __dirname: 'readonly' }, parserOptions: { project: false, projectService: false } },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  ...layerRules,
  // Tests build fixtures loosely and let Jest matchers carry the assertions.
  { files: ['test/**'], rules: { '@typescript-eslint/unbound-method': 'off', '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-member-access': 'off' } },
);
