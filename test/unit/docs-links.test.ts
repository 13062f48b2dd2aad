/**
 * The README and the pages in docs/ hold together: every relative link
 * points at a file that exists (and, with a #fragment, at a heading of that
 * file), and every page in docs/ is linked from the README.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = new URL('../../', import.meta.url).pathname;

/** Markdown without its fenced code blocks and code spans (a link there is text, not a link). */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The targets of the inline links `[text](target)` of a page. */
function linksOf(markdown: string): string[] {
  return [...withoutCode(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  return new Set([...withoutCodeBlocks(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((m) => anchorOf(m[1]!)));
}

function withoutCodeBlocks(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** What is wrong with the links of `file` (a path in the repository); [] when nothing is. */
function brokenLinks(file: string, markdown: string, root = REPO): string[] {
  const problems: string[] = [];
  for (const link of linksOf(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto: ...
    const [path, fragment] = link.split('#', 2) as [string, string | undefined];
    if (path === '') {
      if (fragment && !anchorsOf(markdown).has(fragment))
        problems.push(`${file}: link '${link}': no heading '#${fragment}'`);
      continue;
    }
    const target = resolve(dirname(join(root, file)), decodeURI(path));
    const shown = relative(root, target);
    if (!existsSync(target)) {
      problems.push(`${file}: link '${link}': ${shown} does not exist`);
      continue;
    }
    if (fragment && statSync(target).isFile() && !anchorsOf(readFileSync(target, 'utf8')).has(fragment))
      problems.push(`${file}: link '${link}': ${shown} has no heading '#${fragment}'`);
  }
  return problems;
}

const pages = readdirSync(join(REPO, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`)
  .sort();
const read = (file: string) => readFileSync(join(REPO, file), 'utf8');

describe('links in the README and docs/', () => {
  it('every relative link resolves to a file, and every #fragment to a heading of it', () => {
    const problems = ['README.md', 'CONTRIBUTING.md', ...pages].flatMap((file) => brokenLinks(file, read(file)));
    expect(problems).toEqual([]);
  });

  it('every page in docs/ is linked from the README', () => {
    expect(pages.length).toBeGreaterThan(0);
    const linked = new Set(linksOf(read('README.md')).map((link) => link.split('#')[0]));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  it('finds a missing file, a missing heading, and leaves code and web links alone', () => {
    const page = [
      '# Guide',
      '## Adding a power driver, or a console',
      'See [power](docs/power.md), [gone](docs/gone.md), [a heading](docs/power.md#no-such-heading),',
      '[here](#adding-a-power-driver-or-a-console), [there](#nowhere), [web](https://example.org/x.md).',
      '`[code](docs/also-gone.md)`',
      '```',
      '[block](docs/block-gone.md)',
      '```',
    ].join('\n');
    expect(linksOf(page)).toEqual([
      'docs/power.md',
      'docs/gone.md',
      'docs/power.md#no-such-heading',
      '#adding-a-power-driver-or-a-console',
      '#nowhere',
      'https://example.org/x.md',
    ]);
    expect(brokenLinks('GUIDE.md', page)).toEqual([
      "GUIDE.md: link 'docs/gone.md': docs/gone.md does not exist",
      "GUIDE.md: link 'docs/power.md#no-such-heading': docs/power.md has no heading '#no-such-heading'",
      "GUIDE.md: link '#nowhere': no heading '#nowhere'",
    ]);
    expect(anchorOf('Adding a power driver, or a `console`')).toBe('adding-a-power-driver-or-a-console');
    expect(anchorOf('Privileges, and why')).toBe('privileges-and-why');
  });
});
