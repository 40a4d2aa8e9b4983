/**
 * Where reports go: `-o markdown=FILE` appends to GitHub's step summary file ($GITHUB_STEP_SUMMARY, which every
 * step of a job appends to) and with --append, and replaces FILE otherwise; JSON and JUnit always replace theirs.
 * Real files in a temp directory; the last case runs the built CLI as a CI step would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/model/errors.js';
import { parseOutputs, writeReports } from '../../src/cli/reports.js';
import { runResult, verdict } from '../run/scenario-builder.js';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'bin', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'netcheck-reports-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
/** A file holding `content` (or none), fresh per call. */
function file(content?: string): string {
  const path = join(tmp, `report-${n++}`);
  if (content !== undefined) writeFileSync(path, content);
  return path;
}

const result = runResult([verdict({ source: 'serving', target: 'mlflow' })]);
const HEADING = '## netcheck · financial-ml · ✅ pass';

describe('-o markdown=FILE: append or replace', () => {
  it.each([
    { name: 'a plain file is replaced', append: false, summary: false, want: 'replace' },
    { name: '--append appends', append: true, summary: false, want: 'append' },
    { name: 'the $GITHUB_STEP_SUMMARY file is appended to', append: false, summary: true, want: 'append' },
  ])('$name', async ({ append, summary, want }) => {
    const path = file('## an earlier step\n');
    const env = summary ? { GITHUB_STEP_SUMMARY: path } : { GITHUB_STEP_SUMMARY: file() };
    const outputs = parseOutputs([`markdown=${path}`], { append, env });
    await writeReports(outputs, result);
    await writeReports(outputs, result);
    const text = readFileSync(path, 'utf8');
    if (want === 'append') {
      expect(text.startsWith('## an earlier step\n\n## netcheck')).toBe(true);
      expect(text.split(HEADING)).toHaveLength(3);
    } else {
      expect(text.startsWith(HEADING)).toBe(true);
      expect(text.split(HEADING)).toHaveLength(2);
    }
  });

  it('a new step summary file gets the report with nothing before it', async () => {
    const path = file();
    await writeReports(parseOutputs([`markdown=${path}`], { env: { GITHUB_STEP_SUMMARY: path } }), result);
    expect(readFileSync(path, 'utf8').startsWith(HEADING)).toBe(true);
  });

  it('the step summary named by another path to the same file is appended to', () => {
    const path = file();
    expect(parseOutputs([`markdown=${relative(process.cwd(), path)}`], { env: { GITHUB_STEP_SUMMARY: path } })).toEqual([
      { format: 'markdown', file: relative(process.cwd(), path), append: true },
    ]);
  });

  it('JSON and JUnit replace their file, even the step summary file or with --append', async () => {
    const json = file('{"old": true}\n');
    const junit = file('<old/>\n');
    const md = file();
    await writeReports(parseOutputs([`json=${json}`, `junit=${junit}`, `markdown=${md}`], { append: true, env: { GITHUB_STEP_SUMMARY: json } }), result);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ runId: 'r1' });
    expect(readFileSync(junit, 'utf8').startsWith('<?xml')).toBe(true);
  });

  it('--append without a Markdown file to append to is a usage error', () => {
    expect(() => parseOutputs(['json=r.json'], { append: true, env: {} })).toThrow(UsageError);
    expect(() => parseOutputs(['markdown'], { append: true, env: {} })).toThrow(/--append applies to a Markdown report written to a file/);
  });
});

describe.skipIf(!existsSync(cli))('the built CLI as a GitHub Actions step', () => {
  it('a run that cannot reach a cluster appends its summary after the earlier steps\' and exits non-zero', () => {
    const summary = file('## an earlier step\n');
    const r = spawnSync(process.execPath, [cli, 'run', 'financial-ml', '--no-progress', '-o', `markdown=${summary}`], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, KUBECONFIG: join(tmp, 'no-kubeconfig'), GITHUB_STEP_SUMMARY: summary },
    });
    expect(r.status).not.toBe(0);
    const text = readFileSync(summary, 'utf8');
    expect(text).toMatch(/^## an earlier step\n\n## netcheck · financial-ml · ❌ \d+ could not run\n/);
  });

  it('`check` appends to the step summary too, and exits 0 on the built-in scenario', () => {
    const summary = file('## an earlier step\n');
    const r = spawnSync(process.execPath, [cli, 'check', 'financial-ml', '-o', `markdown=${summary}`], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, GITHUB_STEP_SUMMARY: summary } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('## an earlier step\n\n')).toBe(true);
    expect(text.slice('## an earlier step\n\n'.length)).toMatch(/^#+ .*financial-ml/);
  });

  it('`check -o snapshot=FILE` is refused before anything is read: check probes nothing', () => {
    const r = spawnSync(process.execPath, [cli, 'check', 'financial-ml', '-o', `snapshot=${join(tmp, 'x.json')}`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^netcheck: -o snapshot=\S+: this command does not write snapshot/);
  });
});
