/**
 * The financial-ml-calico scenario (scenarios/financial-ml-calico: the platform baseline as a Calico
 * GlobalNetworkPolicy beside the application's Kubernetes NetworkPolicy) on a real Calico cluster: felix must agree
 * with netcheck cell for cell. The scenario's manifests are seeded as the cluster stores them: the
 * projectcalico.org/v3 GlobalNetworkPolicy as crd.projectcalico.org/v1 (the cluster runs no Calico API server; see
 * calicoPolicyAsStored). The BUILT CLI runs the packaged scenario from the outside host; its policy column is the
 * engine on the live inventory, which reads the stored GlobalNetworkPolicy back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { calicoUnavailable } from '../cluster-kit/build.js';
import { calicoPolicyAsStored } from '../cluster-kit/calico.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { readManifests } from '../cluster-kit/manifests.js';
import { built, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';
import { describeCell } from './conformance-kit.js';

const SCENARIO = 'scenarios/financial-ml-calico';
const skip = !built ? 'dist is not built' : (clusterSkipReason() ?? calicoUnavailable());
if (skip !== undefined) console.warn(`e2e financial-ml-calico: skipped — ${skip}`);

/** The scenario's manifests (its `manifests:` list), Calico's v3 policies rewritten as stored, in one file. */
function seedManifests(dir: string): string {
  const scenario = readManifests([join(SCENARIO, 'scenario.yaml')])[0]!.object as { manifests: string[] };
  const objects = readManifests(scenario.manifests.map((m) => join(SCENARIO, m))).map((m) => calicoPolicyAsStored(m.object));
  const file = join(dir, 'financial-ml-calico.yaml');
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return file;
}

describe.skipIf(skip !== undefined)('financial-ml-calico on a real Calico cluster', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-fml-calico-'));
  const cluster = useCluster({ cni: 'calico', manifests: [seedManifests(dir)] });
  let c: RunningCluster;
  let client: ClusterClient;
  const runCli = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage]);

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every cell decided by netcheck, felix agreeing cell for cell; the cells the baseline decides name its Calico rule', async () => {
    const json = join(dir, 'run.json');
    // Retries go only to attempts that disagree with their expectation (a slow DNS answer on a loaded machine was one);
    // a steady disagreement stays one.
    const run = await runCli(['run', 'financial-ml-calico', '--retries', '3', '--budget', '120s', '--no-progress', '-o', `json=${json}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    const { cells } = JSON.parse(readFileSync(json, 'utf8')) as { cells: CellVerdict[] };
    // Decided: no cell's policy view is unknown (the runner's address is known on the cluster's outside host).
    expect(cells.filter((cell) => cell.policy === 'unknown').map(describeCell)).toEqual([]);
    // Felix agrees with the policy view on every cell: allowed cells connect, denied ones time out (felix drops).
    const disagree = cells.filter((cell) => (cell.policy === 'allow') !== (cell.outcome.kind === 'connected' || cell.outcome.kind === 'http' || cell.outcome.kind === 'resolved'));
    expect(disagree.map(describeCell)).toEqual([]);
    for (const cell of cells.filter((x) => x.policy === 'deny')) expect(`${cell.source} → ${cell.target}: ${cell.outcome.kind}`).toMatch(/: (dns-)?timeout$/);
    // The run passes but for the scenario's known gaps, which are policy gaps felix enforces.
    expect(cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap').map(describeCell)).toEqual([]);
    expect(run.code).toBe(0);
    const explained = (source: string, target: string): string => (cells.find((x) => x.source === source && x.target === target)?.policyExplanation ?? []).join('\n');
    expect(explained('training', 'seldon-scheduler')).toMatch(/egress: allowed by Calico GlobalNetworkPolicy ml-platform-baseline \(order 500\) egress\[0\]: Allow/);
    expect(explained('seldon', 'training-api')).toMatch(/ingress: allowed by Calico GlobalNetworkPolicy ml-platform-baseline \(order 500\) ingress\[0\]: Allow/);
    expect(explained('training', 'predictor')).toMatch(/egress: denied at the end of Calico's default tier, Calico GlobalNetworkPolicy ml-platform-baseline \(order 500\) applied/);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });
});
