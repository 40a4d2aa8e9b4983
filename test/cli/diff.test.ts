/**
 * `netcheck diff` and `snapshot`'s file handling through the built CLI: exit codes, every rendering, and the
 * snapshot files it must refuse. The classification itself is tested on plain data in test/run/snapshot.test.ts,
 * and on a real cluster in test/e2e/cluster-run.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toSnapshot } from '../../src/run/snapshot.js';
import { built, junitSchemaErrors, MAIN } from '../e2e/built-cli.js';
import { runResult, verdict } from '../run/scenario-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'netcheck-diff-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

const cells = (training: 'open' | 'blocked', mlflow: 'open' | 'blocked') => [
  verdict({ source: 'training', target: 'training-api', expect: 'deny', policy: 'deny', path: training, outcome: training === 'open' ? { kind: 'connected' } : { kind: 'timeout' } }),
  verdict({ source: 'serving', target: 'mlflow-lb', expect: 'allow', policy: 'deny', path: mlflow, outcome: mlflow === 'open' ? { kind: 'connected' } : { kind: 'timeout' }, policyExplanation: ['egress: financial-ml-isolation egress[3] opens only TCP 443, 80'] }),
];
const snapshot = (training: 'open' | 'blocked', mlflow: 'open' | 'blocked') => toSnapshot(runResult(cells(training, mlflow)), { netcheckVersion: '0.1.0', perNode: false });

const cli = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe.skipIf(!built)('netcheck diff (built CLI)', () => {
  const baseline = write('baseline.json', snapshot('open', 'open'));
  const enforced = write('enforced.json', snapshot('blocked', 'open'));
  const broken = write('broken.json', snapshot('blocked', 'blocked'));

  it('exit 0 when every change is the one intended; the table names it', () => {
    const r = cli(['diff', baseline, enforced]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Newly enforced \(open before, blocked now, as intended\) \(1\):\n  training → training-api \(deny\): connected → timeout, policy deny/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('OK financial-ml: 2 cells: 1 newly-enforced, 1 still-not-enforced');
  });

  it('exit 1 on a regression, with the policy rule that causes it; JSON, Markdown and schema-valid JUnit agree', () => {
    const json = join(dir, 'diff.json');
    const junit = join(dir, 'diff.xml');
    const md = join(dir, 'diff.md');
    const r = cli(['diff', baseline, broken, '-o', 'table', '-o', `json=${json}`, '-o', `junit=${junit}`, '-o', `markdown=${md}`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/Regressions \(against the intent: fix before the next node\) \(1\):\n  serving → mlflow-lb \(allow\): connected → timeout, policy deny\n.*intent is allow.*\n\s+policy: egress: financial-ml-isolation egress\[3\] opens only TCP 443, 80/);
    expect((JSON.parse(readFileSync(json, 'utf8')) as { counts: Record<string, number> }).counts).toMatchObject({ regression: 1, 'newly-enforced': 1 });
    expect(junitSchemaErrors(junit)).toBe('');
    expect(readFileSync(junit, 'utf8')).toMatch(/<testcase [^>]*name="serving → mlflow-lb \(allow\)">\s*<failure [^>]*type="regression"/);
    expect(readFileSync(md, 'utf8')).toMatch(/^## netcheck diff: financial-ml\n\n\*\*REGRESSION financial-ml/);
  });

  it('--predict on a baseline: the flows enforcement will close, exit 1 when one is against the intent', () => {
    const r = cli(['diff', '--predict', baseline]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/Will break once the policies are enforced \(intent allow, policies deny\) \(1\):\n  serving → mlflow-lb/);
    expect(r.stdout).toMatch(/Will be blocked once the policies are enforced, as intended \(1\):\n  training → training-api/);
  });

  it.each([
    ['a missing file', () => [join(dir, 'nope.json'), baseline], /^netcheck: \S+nope\.json: no such file/],
    ['a run report', () => [write('report.json', runResult([])), baseline], /not a netcheck snapshot \(a run report/],
    ['two scenarios', () => [baseline, write('other.json', { ...snapshot('open', 'open'), scenario: 'other' })], /only snapshots of one scenario compare/],
    ['AFTER missing', () => [baseline], /diff needs two snapshots/],
  ])('exit 2 for %s, in one line', (_name, args, message) => {
    const r = cli(['diff', ...args()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('snapshot refuses an --against file that is not a snapshot before probing anything', () => {
    const r = cli(['snapshot', 'financial-ml', '-o', join(dir, 'x.json'), '--against', write('junk.json', '{'), '--kubeconfig', join(dir, 'none')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^netcheck: \S+junk\.json: not a netcheck snapshot \(not JSON/);
  });
});
