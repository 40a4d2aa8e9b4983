/**
 * lint's CI reports and gate on real input (the financial-ml manifests and the small fixture): SARIF with one result
 * per finding pointing at the manifest object's line, JUnit that validates against the shipped JUnit schema, and
 * `--fail-on` through the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failsLint, LINT_RULE_HELP, LINT_RULES, lintSnapshot, type LintFailOn, type LintFinding } from '../../src/policy/lint.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import { renderLintJunit } from '../../src/report/render-lint.js';
import { renderLintSarif } from '../../src/report/render-sarif.js';
import { readInputFiles } from '../../src/scenario/files.js';
import { repo, runNetcheck } from '../scenario/netcheck-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'netcheck-lint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Findings of a manifest directory, read with paths relative to the repository as a CI job run from it has them. */
async function lintDir(dir: string): Promise<LintFinding[]> {
  const files = await readInputFiles([dir]);
  return lintSnapshot(snapshotFromManifestFiles(files).snapshot);
}

let financial: LintFinding[];
let small: LintFinding[];
beforeAll(async () => {
  const cwd = process.cwd();
  process.chdir(repo);
  try {
    financial = await lintDir('scenarios/financial-ml/manifests');
    small = await lintDir('test/fixtures/policy/small');
  } finally {
    process.chdir(cwd);
  }
});

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations?: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region?: { startLine: number } } }>;
}

describe('lint -o sarif', () => {
  it('has one result per finding, each on the line of the manifest object it is about, and every rule with its help', () => {
    const log = JSON.parse(renderLintSarif(financial, { baseDir: repo })) as {
      version: string;
      runs: Array<{ tool: { driver: { name: string; rules: Array<{ id: string; name: string; help: { text: string } }> } }; results: SarifResult[] }>;
    };
    expect(log.version).toBe('2.1.0');
    const [run] = log.runs;
    expect(run?.tool.driver.name).toBe('netcheck');
    expect(run?.tool.driver.rules.map((r) => [r.id, r.name, r.help.text])).toEqual(
      Object.entries(LINT_RULES).map(([id, name]) => [id, name, LINT_RULE_HELP[id as keyof typeof LINT_RULES]]),
    );
    expect(financial.length).toBeGreaterThan(0);
    expect(run?.results).toHaveLength(financial.length);
    run?.results.forEach((result, i) => {
      const finding = financial[i] as LintFinding;
      expect(result.ruleId).toBe(finding.id);
      expect(run.tool.driver.rules[result.ruleIndex]?.id).toBe(finding.id);
      expect(result.level).toBe({ error: 'error', warning: 'warning', info: 'note' }[finding.severity]);
      expect(result.message.text).toContain(finding.message);
      const location = result.locations?.[0]?.physicalLocation;
      expect(location?.artifactLocation.uri).toMatch(/^scenarios\/financial-ml\/manifests\/[a-z-]+\.yaml$/);
      // The line is where the object starts, and the object is the one the finding names.
      const lines = readFileSync(join(repo, location?.artifactLocation.uri ?? ''), 'utf8').split('\n');
      const start = (location?.region?.startLine ?? 0) - 1;
      expect(lines[start]).toMatch(/^(apiVersion|kind):/);
      const object = lines.slice(start, lines.indexOf('---', start) === -1 ? undefined : lines.indexOf('---', start)).join('\n');
      if (finding.policy) expect(object).toMatch(new RegExp(`kind: NetworkPolicy[\\s\\S]*name: ${finding.policy.split('/')[1]}\\b`));
      else expect(object).toContain(`namespace: ${finding.namespace}`);
    });
  });
});

describe('lint -o junit and --fail-on', () => {
  it.each<{ failOn: LintFailOn; fails: boolean; failures: number }>([
    { failOn: 'error', fails: false, failures: 0 },
    { failOn: 'warning', fails: true, failures: 8 },
    { failOn: 'none', fails: false, failures: 0 },
  ])('financial-ml (warnings and an info, no error) under --fail-on $failOn', ({ failOn, fails, failures }) => {
    expect(financial.filter((f) => f.severity === 'error')).toEqual([]);
    expect(failsLint(financial, failOn)).toBe(fails);
    const file = join(tmp, `financial-${failOn}.xml`);
    const xml = renderLintJunit(financial, failOn);
    writeFileSync(file, xml);
    const lint = spawnSync('xmllint', ['--noout', '--schema', join(repo, 'test/fixtures/junit/junit-10.xsd'), file], { encoding: 'utf8' });
    expect(lint.stderr).toBe(`${file} validates\n`);
    expect(xml).toContain(`failures="${failures}"`);
    expect((xml.match(/<failure /g) ?? []).length).toBe(failures);
  });

  it('an error finding fails under error and warning, not none', () => {
    expect(small.some((f) => f.severity === 'error')).toBe(true);
    expect([failsLint(small, 'error'), failsLint(small, 'warning'), failsLint(small, 'none')]).toEqual([true, true, false]);
  });

  it.each([
    { args: ['lint', '-f', 'scenarios/financial-ml/manifests'], code: 0 },
    { args: ['lint', '-f', 'scenarios/financial-ml/manifests', '--fail-on', 'warning'], code: 1 },
    { args: ['lint', '-f', 'test/fixtures/policy/small', '--fail-on', 'none'], code: 0 },
    { args: ['lint', '-f', 'test/fixtures/policy/small'], code: 1 },
  ])('netcheck $args.3 $args.4 $args.5 → exit $code', async ({ args, code }) => {
    expect((await runNetcheck(args)).code).toBe(code);
  }, 60_000);

  it.each([
    { args: ['--fail-on', 'warnin'], stderr: 'netcheck: --fail-on warnin: use error, warning or none; did you mean `warning`?\n' },
    { args: ['-o', 'sarif'], stderr: 'netcheck: -o sarif: name the file, e.g. -o sarif=lint.sarif\n' },
  ])('rejects $args with exit 2', async ({ args, stderr }) => {
    const result = await runNetcheck(['lint', '-f', 'scenarios/financial-ml/manifests', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(stderr);
  }, 60_000);

  it('writes a SARIF file with repository-relative paths when run from the repository', async () => {
    const file = join(tmp, 'lint.sarif');
    const result = await runNetcheck(['lint', '-f', 'scenarios/financial-ml/manifests', '-o', `sarif=${file}`]);
    expect(result.code).toBe(0);
    const log = JSON.parse(readFileSync(file, 'utf8')) as { runs: Array<{ results: SarifResult[] }> };
    expect(log.runs[0]?.results.map((r) => r.locations?.[0]?.physicalLocation.artifactLocation.uri)).toContain('scenarios/financial-ml/manifests/policies.yaml');
  }, 60_000);
});
