// npm run build: compiles src/ and migrations/ to dist/ with swc, the same transform the tests run
// through (@swc/jest), in well under a second, so that `npm start` can build on every start and
// still start in seconds. Type checking is tsc's job (npm run typecheck), not the build's.
'use strict';
const { mkdirSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { basename, dirname, join, relative } = require('node:path');
const { transformFileSync } = require('@swc/core');

const root = join(__dirname, '..');
const outDir = join(root, 'dist');
const sources = ['src', 'migrations'];
const swcOptions = {
  jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
  module: { type: 'commonjs' },
  sourceMaps: true,
  swcrc: false,
  configFile: false,
};

function* typescriptFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typescriptFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

// Emptied first: a module left by an older build (one since moved or renamed) would otherwise be
// the one `node dist/src/main.js` loads.
rmSync(outDir, { recursive: true, force: true });
let count = 0;
for (const source of sources) {
  for (const file of typescriptFiles(join(root, source))) {
    const target = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
    const { code, map } = transformFileSync(file, { ...swcOptions, filename: file, sourceFileName: relative(dirname(target), file) });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, `${code}\n//# sourceMappingURL=${basename(target)}.map\n`);
    if (map !== undefined) writeFileSync(`${target}.map`, map);
    count++;
  }
}
process.stdout.write(`built ${count} modules into ${relative(process.cwd(), outDir) || '.'}\n`);
