/**
 * The JUnit report of real runs, as a CI server keeps it across builds: two identical runs of the BUILT CLI against
 * the lab (2 nodes; its scheduler places pods round-robin, so the same probe lands on another node in the next run)
 * give identical test names, and every report validates against the Jenkins JUnit schema. The lab, not the real
 * cluster: the real scheduler's placement is not ours to vary, and two full real-cluster runs cost minutes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CellVerdict } from '../../src/model/verdict.js';
import { realLabUnavailable } from '../lab/lab-fixture.js';
import { startLab, type RunningLab } from '../lab/lab.js';
import { built, junitSchemaErrors as schemaErrors, MANIFESTS, runBuiltCli, unescapeXml } from './built-cli.js';

const labMissing = realLabUnavailable();
if (labMissing) console.warn(`lab JUnit names: skipped — ${labMissing}`);

function testcaseNames(xml: string): string[] {
  return [...xml.matchAll(/<testcase [^>]*?\sname="([^"]*)"/g)].map(([, name]) => unescapeXml(name as string));
}

describe.skipIf(!built || labMissing !== undefined)('JUnit names across identical runs in the lab', () => {
  let lab: RunningLab;
  let dir: string;

  beforeAll(async () => {
    lab = await startLab({ manifests: [MANIFESTS] });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-junit-'));
  });
  afterAll(async () => {
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `netcheck run financial-ml` with JUnit and JSON reports; returns them and the exit code. */
  async function runReports(name: string, extra: string[] = []): Promise<{ code: number | null; xml: string; cells: CellVerdict[]; file: string }> {
    const file = join(dir, `${name}.xml`);
    const json = join(dir, `${name}.json`);
    const run = await runBuiltCli(lab, ['run', 'financial-ml', ...extra, '--budget', '45s', '--no-progress', '-o', `junit=${file}`, '-o', `json=${json}`, '--kubeconfig', lab.kubeconfigPath]);
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    const { cells } = JSON.parse(readFileSync(json, 'utf8')) as { cells: CellVerdict[] };
    return { code: run.code, xml: readFileSync(file, 'utf8'), cells, file };
  }

  it('two identical runs: the same testcase names, though probes landed on other nodes; both validate', async () => {
    const first = await runReports('first');
    const second = await runReports('second');
    expect(first.code).toBe(second.code);
    const landed = (cells: CellVerdict[]): string[] => cells.map((c) => `${c.source} → ${c.target}: ${c.node ?? '-'}`);
    // Without this the comparison below would prove nothing.
    expect(landed(second.cells)).not.toEqual(landed(first.cells));
    const names = testcaseNames(first.xml);
    expect(names).toHaveLength(first.cells.length);
    expect(new Set(names).size).toBe(names.length);
    expect(testcaseNames(second.xml)).toEqual(names);
    for (const name of names) expect(name).not.toMatch(/@/);
    // Where each probe ran is still in the report, in the testcase's output.
    const podCell = first.cells.find((c) => c.node !== undefined) as CellVerdict;
    expect(first.xml).toContain(`node: ${podCell.node}`);
    expect(schemaErrors(first.file)).toBe('');
    expect(schemaErrors(second.file)).toBe('');
  });

  it('--per-node: each pod cell is named with its node, once per node; the report validates', async () => {
    const run = await runReports('per-node', ['--per-node']);
    // JSON writes an absent pinnedNode as null.
    const nodes = [...new Set(run.cells.flatMap((c) => (typeof c.pinnedNode === 'string' ? [c.pinnedNode] : [])))].sort();
    expect(nodes).toEqual(['lab-node-a', 'lab-node-b']);
    const names = testcaseNames(run.xml);
    expect(new Set(names).size).toBe(names.length);
    const serving = names.filter((n) => n.startsWith('serving → cluster-dns '));
    expect(serving).toEqual(['serving → cluster-dns @lab-node-a (allow)', 'serving → cluster-dns @lab-node-b (allow)']);
    expect(names.filter((n) => n.startsWith('ci-runner → ')).every((n) => !n.includes('@'))).toBe(true);
    expect(schemaErrors(run.file)).toBe('');
  });
});
