import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationHead, envExample, GENERATED_END } from '../config/docs';

/**
 * `npm run docs:config`: writes the generated part of docs/configuration.md and .env.example
 * from the variables' declarations. `--check`: changes nothing, fails when either differs.
 */
const root = join(__dirname, '../..');
const check = process.argv.includes('--check');

function expected(path: string): string {
  if (path === '.env.example') return envExample();
  const current = readFileSync(join(root, path), 'utf8');
  const at = current.indexOf(GENERATED_END);
  if (at < 0) throw new Error(`${path} has no line "${GENERATED_END}": the hand-written part starts after it`);
  return configurationHead() + current.slice(at + GENERATED_END.length).replace(/^\n+/, '\n');
}

let stale = 0;
for (const path of ['docs/configuration.md', '.env.example']) {
  const want = expected(path);
  const have = readFileSync(join(root, path), 'utf8');
  if (want === have) continue;
  if (check) {
    console.error(`${path} differs from the declarations: run npm run docs:config and commit it`);
    stale++;
  } else {
    writeFileSync(join(root, path), want);
    console.log(`wrote ${path}`);
  }
}
if (stale > 0) process.exit(1);
