/**
 * The built-in financial-ml scenario: it loads, it says what the seeds require, and — checked with the policy
 * engine against its own manifests — every cell not marked `known` agrees with what the seeds' policies really
 * do, while every `known` cell is a real contradiction (policy says the opposite of the requirement).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { ClusterSnapshot, Labels } from '../../src/policy/types.js';
import { assessCellPolicy } from '../../src/run/policy-view.js';
import { checkScenarioAgainstSnapshot } from '../../src/scenario/check-manifests.js';
import { readInputFiles } from '../../src/scenario/files.js';
import { listBuiltinScenarios, loadScenario } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/types.js';
import { cellPolicyViews } from './policy-views.js';

const repo = path.resolve(import.meta.dirname, '../..');
let scenario: Scenario;
let snapshot: ClusterSnapshot;

beforeAll(async () => {
  scenario = await loadScenario('financial-ml', repo);
  snapshot = snapshotFromManifestFiles(await readInputFiles(scenario.manifests)).snapshot;
});

function cell(source: string, target: string) {
  const found = scenario.cells.find((c) => c.source === source && c.target === target);
  if (!found) throw new Error(`no cell ${source} -> ${target}`);
  return found;
}

describe('built-in scenario financial-ml', () => {
  it('is listed and resolves by bare name to the shipped file', () => {
    expect(listBuiltinScenarios()).toContain('financial-ml');
    expect(scenario.file).toBe(path.join(repo, 'scenarios/financial-ml/scenario.yaml'));
    expect(scenario.manifests).toEqual([path.join(repo, 'scenarios/financial-ml/manifests')]);
    expect(scenario.defaults).toEqual({ timeoutMs: 2000, retries: 1 });
  });

  it('names the seeds\' sources, including the CI runner', () => {
    expect(scenario.sources.map((s) => `${s.name}:${s.kind === 'pod' ? s.namespace : 'runner'}`)).toEqual([
      'serving:financial-ml',
      'training:financial-mlops-pytorch',
      'seldon:seldon-system',
      'outsider:default',
      'ci-runner:runner',
    ]);
    expect(scenario.sources[0]).toMatchObject({ as: { kind: 'deployment', name: 'financial-predictor' } });
  });

  it.each([
    { target: 'seldon-scheduler', shape: { kind: 'service', service: 'seldon-scheduler', namespace: 'seldon-system', port: 9005, protocol: 'TCP' } },
    { target: 'cluster-dns', shape: { kind: 'dns', protocol: 'UDP' } },
    { target: 'cluster-dns-tcp', shape: { kind: 'dns', protocol: 'TCP' } },
    { target: 'mlflow-lb', shape: { kind: 'address', address: '192.168.1.208', port: 5000 } },
    { target: 'minio-lb', shape: { kind: 'address', address: '192.168.1.200', port: 9000 } },
    { target: 'inference-lb', shape: { kind: 'address', address: '192.168.1.209', port: 80 } },
    { target: 'dns-metrics', shape: { kind: 'service', port: 'metrics' } },
    { target: 'default-listener', shape: { kind: 'listener', namespace: 'default', port: 8080 } },
  ])('target $target is what the seeds describe', ({ target, shape }) => {
    expect(scenario.targets.find((t) => t.name === target)).toMatchObject(shape);
  });

  it.each([
    // The seeds' required communication.
    { source: 'training', target: 'predictor', expect: 'allow', known: true },
    { source: 'serving', target: 'seldon-scheduler', expect: 'allow', known: false },
    { source: 'serving', target: 'cluster-dns-tcp', expect: 'allow', known: false },
    { source: 'training', target: 'cluster-dns', expect: 'allow', known: false },
    { source: 'serving', target: 'mlflow-lb', expect: 'allow', known: true },
    { source: 'serving', target: 'minio-lb', expect: 'allow', known: true },
    { source: 'ci-runner', target: 'mlflow-lb', expect: 'allow', known: false },
    { source: 'ci-runner', target: 'inference-lb', expect: 'allow', known: true },
    // Least privilege.
    { source: 'serving', target: 'training-api', expect: 'deny', known: false },
    { source: 'training', target: 'dns-metrics', expect: 'deny', known: false },
    { source: 'outsider', target: 'predictor', expect: 'deny', known: false },
  ])('$source -> $target: $expect (known gap: $known)', ({ source, target, expect: expectation, known }) => {
    const c = cell(source, target);
    expect(c.expect).toBe(expectation);
    expect(c.known !== undefined).toBe(known);
  });

  it('orders cells by source, then target, as declared', () => {
    const sourceOrder = scenario.sources.map((s) => s.name);
    const targetOrder = scenario.targets.map((t) => t.name);
    const keys = scenario.cells.map((c) => [sourceOrder.indexOf(c.source), targetOrder.indexOf(c.target)] as const);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(keys).toEqual(sorted);
    expect(cell('serving', 'predictor').location).toMatchObject({ file: path.join('scenarios', 'financial-ml', 'scenario.yaml'), line: 38 });
  });

  it('matches its manifests: every `as` workload and service target exists', () => {
    expect(() => checkScenarioAgainstSnapshot(scenario, snapshot)).not.toThrow();
  });

  it('agrees with the seeds\' policies on every cell but the known gaps, which the policies really contradict', () => {
    const views = cellPolicyViews(scenario, snapshot);
    const disagreements: string[] = [];
    for (const c of scenario.cells) {
      const view = views.get(`${c.source} -> ${c.target}`)?.view;
      if ((view === c.expect) === (c.known !== undefined)) disagreements.push(`${c.source} -> ${c.target}: expect ${c.expect}, policy ${view}, known ${c.known !== undefined}`);
    }
    expect(disagreements).toEqual([]);
    expect(scenario.cells.filter((c) => c.known !== undefined).map((c) => `${c.source} -> ${c.target}`)).toEqual([
      'serving -> mlflow-lb',
      'serving -> minio-lb',
      'training -> predictor',
      'training -> training-api',
      'training -> mlflow-lb',
      'training -> minio-lb',
      'training -> inference-lb',
      'ci-runner -> inference-lb',
    ]);
  });
});

describe('loadScenario path resolution', () => {
  it.each([
    ['a bare built-in name', 'financial-ml', repo],
    ['a relative file', 'scenarios/financial-ml/scenario.yaml', repo],
    ['a directory holding scenario.yaml', 'scenarios/financial-ml', repo],
    ['an absolute file from elsewhere', path.join(repo, 'scenarios/financial-ml/scenario.yaml'), '/'],
  ])('finds %s', async (_, arg, cwd) => {
    const loaded = await loadScenario(arg, cwd);
    expect(loaded.file).toBe(path.join(repo, 'scenarios/financial-ml/scenario.yaml'));
    expect(loaded.manifests).toEqual([path.join(repo, 'scenarios/financial-ml/manifests')]);
  });

  it.each([
    ['a missing file', 'nope/scenario.yaml', 'nope/scenario.yaml: no such file'],
    ['a misspelled built-in name', 'financial_ml', 'financial_ml: no such file, and no built-in scenario of that name; did you mean `financial-ml`?'],
    ['a directory without scenario.yaml', 'src', 'src: directory holds no scenario.yaml'],
  ])('rejects %s', async (_, arg, message) => {
    await expect(loadScenario(arg, repo)).rejects.toThrow(message);
  });
});
