/**
 * The CLI bundle gives yargs src/cli/string-width.ts in place of the string-width package (start-up): it must
 * measure what netcheck's help holds exactly as string-width does, and single code points of any script too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import stringWidthPackage from 'string-width';
import { describe, expect, it } from 'vitest';
import stringWidth from '../../src/cli/string-width.js';

const root = join(import.meta.dirname, '..', '..');

describe('src/cli/string-width.ts', () => {
  it.each([
    '',
    'netcheck run <scenario>',
    'Does the network behave the way your NetworkPolicies say it should — and if not, why?',
    'serving → default-listener @node-a→node-b (deny) · 2 known gaps',
    '\u001B[31mred\u001B[39m and \u001B]8;;https://example.com\u0007a link\u001B]8;;\u0007',
    'Grüße, café, naïve, Ωmega',
    '日本語のテキスト',
    '한국어',
    'a\u0301 combining accent',
    'zero\u200Bwidth space',
    'tab\there',
    '🙂 smile',
    '⚠ warning sign',
    '\u00AD soft hyphen',
  ])('%j: the same width as string-width', (text) => {
    expect(stringWidth(text)).toBe(stringWidthPackage(text));
  });

  it('every cell of the built CLI\'s --help, as yargs lays it out, measures the same', () => {
    const main = join(root, 'dist', 'bin', 'main.js');
    if (!existsSync(main)) throw new Error('dist/bin is missing: run `npm run build` first');
    for (const args of [['--help'], ['run', '--help'], ['diff', '--help'], ['lint', '--help']]) {
      const help = execFileSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, COLUMNS: '110' } });
      for (const line of help.split('\n')) expect(stringWidth(line)).toBe(stringWidthPackage(line));
    }
  });
});
