/**
 * netcheck on a real Flannel cluster (test/cluster-kit with `cni: 'flannel'`: flanneld from its DaemonSet, VXLAN
 * between the nodes, no NetworkPolicy enforcement) seeded with the financial-ml platform: the platform before its
 * Calico migration. The BUILT CLI runs inside the outside host. Flannel lets every flow through, so each cell the
 * policies deny is open: a data-plane fault (the policies agree with the intent, the CNI does not), never a
 * policy gap; and a --per-node snapshot of it is the migration's baseline, not a red run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { SnapshotDiff } from '../../src/model/snapshot.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e Flannel cluster: skipped — ${skip}`);

interface Report {
  cells: CellVerdict[];
  findings: string[];
}

describe.skipIf(skip !== undefined)('netcheck on a real Flannel cluster', { timeout: 300_000 }, () => {
  const cluster = useCluster({ cni: 'flannel', manifests: [MANIFESTS] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;
  const runCli = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage]);

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-flannel-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('run financial-ml: exit 4; every cell the policies deny connected anyway and fails as a data-plane fault (known gaps too); "the CNI does not enforce" finding; allowed cells pass', async () => {
    const json = join(dir, 'run.json');
    const run = await runCli(['run', 'financial-ml', '--budget', '90s', '--no-progress', '-o', `json=${json}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(4);
    const { cells, findings } = JSON.parse(readFileSync(json, 'utf8')) as Report;
    const deniedByPolicy = cells.filter((cell) => cell.policy === 'deny' && cell.expect === 'deny' && !cell.known);
    expect(deniedByPolicy.length).toBeGreaterThan(0);
    for (const cell of deniedByPolicy) {
      expect(`${cell.source} → ${cell.target}: ${cell.pass ? 'pass' : cell.classification}`).toBe(`${cell.source} → ${cell.target}: data-plane`);
    }
    // Every other failure is one too, and only where the policies deny: a documented known gap (intent allow,
    // policies deny) that does not reproduce because nothing enforces the policies, the runner's LoadBalancer flow an
    // ipBlock does not admit. What the policies allow never fails (no DNS, probe or policy-gap failures).
    const failing = cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap');
    expect(failing.filter((cell) => cell.classification !== 'data-plane' || cell.policy !== 'deny' || cell.path !== 'open').map((cell) => `${cell.source} → ${cell.target} ${cell.classification}`)).toEqual([]);
    expect(failing.some((x) => x.known)).toBe(true);
    for (const cell of failing.filter((x) => x.known)) expect(cell.reason).toMatch(/known gap did not reproduce .*the data plane does not enforce them/);
    expect(findings.join('\n')).toMatch(/the CNI does not enforce NetworkPolicies \(Flannel\?\)/);
    expect(findings.join('\n')).not.toMatch(/node \S+ does not enforce/);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it('snapshot --per-node: the baseline (exit 0) covers every node pair; the denied flows are recorded open; diff --predict names them newly-enforced', async () => {
    const baseline = join(dir, 'flannel.json');
    const run = await runCli(['snapshot', 'financial-ml', '--per-node', '--budget', '150s', '--no-progress', '-o', baseline]);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    const recorded = JSON.parse(readFileSync(baseline, 'utf8')) as { kind: string; perNode: boolean; result: { cells: CellVerdict[] } };
    expect([recorded.kind, recorded.perNode]).toEqual(['Snapshot', true]);
    const nodes = c.nodes.map((n) => n.name);
    const pairs = recorded.result.cells.filter((x) => x.source === 'serving' && x.target === 'default-listener').map((x) => `${x.pinnedNode}→${x.targetNode}`).sort();
    expect(pairs).toEqual(nodes.flatMap((from) => nodes.map((to) => `${from}→${to}`)).sort());
    // Every probe pair across nodes went over VXLAN and connected, whatever the policies say.
    const denied = recorded.result.cells.filter((x) => x.expect === 'deny' && x.policy === 'deny' && !x.known && x.source !== 'ci-runner');
    expect(denied.length).toBeGreaterThan(0);
    for (const x of denied) expect(`${x.source} @${x.pinnedNode}→${x.targetNode ?? x.target} ${x.path}`).toMatch(/ open$/);
    expect(denied.some((x) => x.targetNode !== undefined && x.targetNode !== x.pinnedNode)).toBe(true);

    const out = join(dir, 'predict.json');
    const predicted = await runBuiltCli(c, ['diff', '--predict', baseline, '-o', `json=${out}`]);
    expect(predicted.stderr).toBe('');
    const diff = JSON.parse(readFileSync(out, 'utf8')) as SnapshotDiff;
    const newlyEnforced = new Set(diff.changes.filter((x) => x.change === 'newly-enforced').map((x) => `${x.source} → ${x.target}`));
    for (const x of denied) expect(newlyEnforced.has(`${x.source} → ${x.target}`), `${x.source} → ${x.target}`).toBe(true);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });
});
