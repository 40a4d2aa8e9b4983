/**
 * The docs are self-contained: a user's clone holds nothing outside the repository, so every relative link in
 * the docs must land on a file inside it, and no doc may send the reader to the team's notes beside the
 * repository (`../shared`, `shared/seeds`, `DESIGN.md`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files below `dir` (relative to the root) whose name passes `keep`; none when `dir` does not exist. */
function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const full = join(ROOT, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, keep);
    return keep(entry.name) ? [path] : [];
  });
}

const isMarkdown = (name: string): boolean => name.endsWith('.md');

/** README.md, docs/*.md, every README under scenarios/ and test/, and everything under deploy/. */
const markdownDocs = [
  'README.md',
  ...filesUnder('docs', isMarkdown),
  ...filesUnder('scenarios', (name) => name === 'README.md'),
  ...filesUnder('test', (name) => name === 'README.md'),
  ...filesUnder('deploy', isMarkdown),
].sort();
const allDocs = [...new Set([...markdownDocs, ...filesUnder('deploy', () => true)])].sort();

/** Inline links and images `[text](target "title")`, and reference definitions `[id]: target`, outside code. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^"']*["'])?\s*\)/g)].map((m) => m[1]!);
  const references = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...references];
}

/** A link to a file (not a URL, a mail address or an anchor in the same page), without its #fragment or ?query. */
function relativePath(target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//') || target.startsWith('#')) return undefined;
  const path = target.replace(/[#?].*$/, '');
  return path === '' ? undefined : decodeURIComponent(path);
}

describe('docs are self-contained', () => {
  it('finds the docs it checks', () => {
    expect(markdownDocs).toEqual(expect.arrayContaining(['README.md', join('docs', 'architecture.md'), join('scenarios', 'financial-ml', 'README.md')]));
    expect(allDocs).toEqual(expect.arrayContaining([join('deploy', 'rbac', 'clusterrole.yaml'), join('deploy', 'rbac', 'role.yaml')]));
  });

  it.each(markdownDocs)('every relative link in %s resolves to a file inside the repository', (doc) => {
    const broken = linkTargets(readFileSync(join(ROOT, doc), 'utf8')).flatMap((target) => {
      const path = relativePath(target);
      if (path === undefined) return [];
      // A leading slash is the repository root, as GitHub renders it.
      const resolved = path.startsWith('/') ? join(ROOT, path) : resolve(ROOT, dirname(doc), path);
      const inside = relative(ROOT, resolved);
      if (inside.startsWith('..') || inside.split(sep).includes('node_modules')) return [`${target} (outside the repository)`];
      if (!existsSync(resolved)) return [`${target} (no such file)`];
      return statSync(resolved).isFile() || statSync(resolved).isDirectory() ? [] : [`${target} (not a file)`];
    });
    expect(broken).toEqual([]);
  });

  it.each(allDocs)('%s does not point outside the repository (../shared, shared/seeds, DESIGN.md)', (doc) => {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    const hits = text.split('\n').flatMap((line, i) => (/\.\.\/shared\b|shared\/seeds|DESIGN\.md/i.test(line) ? [`${doc}:${i + 1}: ${line.trim()}`] : []));
    expect(hits).toEqual([]);
  });

  it('catches what it is meant to catch', () => {
    const sample = [
      'See [design](../shared/DESIGN.md) and [arch](docs/architecture.md#layers "title"), ![img](./a.png),',
      '[site](https://example.com), [top](#start-here), `[code](not/a/link.md)`',
      '[ref]: deploy/rbac/role.yaml',
      '```',
      '[in a block](ignored.md)',
      '```',
    ].join('\n');
    expect(linkTargets(sample).map(relativePath).filter((p) => p !== undefined)).toEqual([
      '../shared/DESIGN.md',
      'docs/architecture.md',
      './a.png',
      'deploy/rbac/role.yaml',
    ]);
  });
});
