import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(__dirname, '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
const anchorOf = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
const anchorsOf = (file: string) => new Set([...readFileSync(file, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1] as string)));

describe('documentation links', () => {
  it('finds the pages', () => {
    expect(pages).toEqual(expect.arrayContaining(['README.md', join('docs', 'events.md'), join('docs', 'providers', 'lyra.md')]));
  });

  it.each(pages)('every relative link of %s resolves, anchors included', (page) => {
    const text = readFileSync(join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target as string)) continue;
      const [path, anchor] = (target as string).split('#');
      const file = path === '' ? join(root, page) : join(root, dirname(page), path as string);
      expect({ link: target, from: page, exists: existsSync(file) }).toEqual({ link: target, from: page, exists: true });
      if (anchor !== undefined && file.endsWith('.md')) expect({ link: target, from: page, anchor: anchorsOf(file).has(anchor) }).toEqual({ link: target, from: page, anchor: true });
      expect(relative(root, file).startsWith('..')).toBe(false);
    }
  });
});
