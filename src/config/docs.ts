import type { Variable } from '../lib/variables';
import { CONFIGURATION_AREAS, SECRET_VARIABLES } from './index';

/**
 * `docs/configuration.md` (its first part) and `.env.example`, written from the declarations:
 * `npm run docs:config` writes them, `npm run docs:config -- --check` (CI) fails when the
 * committed ones differ.
 */

/** Ends the generated part of docs/configuration.md; what follows is written by hand. */
export const GENERATED_END = '<!-- Generated above from the declarations in src/ (npm run docs:config); written by hand below. -->';

const variablesOf = (area: (typeof CONFIGURATION_AREAS)[number]): Variable<unknown>[] => Object.values(area.variables);
const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function configurationHead(): string {
  const secrets = SECRET_VARIABLES.map((name) => `\`${name}\``).join(', ');
  const lines = [
    '# Configuration',
    '',
    'Back to the [README](../README.md).',
    '',
    'Environment variables, each declared once in the code (type, default, range, description) with a',
    'zod schema: `src/config/` for the process, the database, the routes, the relay and the audit',
    'API, `src/providers/<name>/config.ts` for each platform. `.env.example` lists them all with',
    'comments. An invalid value stops start-up with a message naming the variable and what is wrong.',
    `Every secret variable (${secrets}) may instead be read from a file named by \`<NAME>_FILE\`, as`,
    'Docker and Kubernetes mount secrets; setting both is an error.',
  ];
  for (const area of CONFIGURATION_AREAS) {
    lines.push('', `## ${area.title}`, '', '| variable | meaning | default | secret |', '|---|---|---|---|');
    for (const v of variablesOf(area)) lines.push(`| \`${v.name}\` | ${cell(v.description)} | ${cell(shownDefault(v))} | ${v.secret ? 'yes' : ''} |`);
  }
  lines.push('', GENERATED_END, '');
  return lines.join('\n');
}

function shownDefault(v: Variable<unknown>): string {
  if (v.shownDefault === 'unset' || v.shownDefault.includes('`') || v.shownDefault.includes(' ')) return v.shownDefault;
  return `\`${v.shownDefault}\``;
}

/** Markdown to a comment line's plain text: links become "text (docs/path)", code marks go. */
function plain(text: string): string {
  return text.replace(/\[([^\]]+)\]\(([^)]+)\)/g, (_m, label: string, target: string) => (/^[a-z]+:/.test(target) ? `${label} (${target})` : `${label} (docs/${target})`)).replace(/`/g, '');
}

/** Words of `text` in comment lines of at most `width` characters. */
function comment(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/)) {
    if (line.length + 1 + word.length > width && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

export function envExample(): string {
  const lines = [
    '# ipn-receiver configuration, generated from the declarations in src/ (npm run docs:config).',
    '# Every variable is optional in development; copy to .env or set them in your process manager.',
    '# Invalid values stop start-up with a message naming the variable. docs/configuration.md has more.',
  ];
  for (const area of CONFIGURATION_AREAS) {
    lines.push('', `# ---- ${area.title}`);
    for (const v of variablesOf(area)) {
      const sentence = plain(v.description);
      lines.push('', ...comment(`${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.${v.secret ? ` A secret: or ${v.name}_FILE=/path/to/file.` : ''}`));
      lines.push(v.example === undefined ? `# ${v.name}=${exampleDefault(v)}` : `${v.name}=${v.example}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The commented-out line's value: the default itself when it is a plain value. */
function exampleDefault(v: Variable<unknown>): string {
  const value = v.fallback;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(',');
  return '';
}
