/**
 * `netcheck run` under the faults only the fake lab can make cheaply (everything else runs on the real cluster, in
 * cluster-run.test.ts): a node that loses all traffic while its kubelet keeps running, and pods held in
 * ContainerCreating for a chosen time (the budget running out while a pod is pending). The BUILT CLI runs as a
 * subprocess inside the lab's outside host; every test resets the faults it sets in `finally`.
 * Asserted: classifications, reasons, findings, exit codes and the pods left behind — never wall time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { startLab, type RunningLab } from '../lab/lab.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

interface Report {
  cells: CellVerdict[];
  findings: string[];
}

/** `netcheck ...args --kubeconfig <the lab's>`. */
function runCli(lab: RunningLab, args: string[], onSpawn?: (pid: number) => void): Promise<CliRun> {
  return runBuiltCli(lab, [...args, '--kubeconfig', lab.kubeconfigPath], { onSpawn });
}

describe.skipIf(!built)('netcheck run under faults in the lab', () => {
  let lab: RunningLab;
  let client: ClusterClient;
  let dir: string;
  const writeScenario = (name: string, body: Record<string, unknown>): string => {
    const file = join(dir, name);
    const scenario = { apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name: name.replace(/\.yaml$/, '') }, defaults: { timeout: '1s', retries: 0 }, ...body };
    writeFileSync(file, JSON.stringify(scenario, null, 2));
    return file;
  };
  const report = (file: string): Report => JSON.parse(readFileSync(file, 'utf8')) as Report;
  const podsLeft = (): Promise<string[]> => netcheckPodsLeft(client);

  beforeAll(async () => {
    lab = await startLab({ manifests: [MANIFESTS] });
    client = await connectCluster({ kubeconfig: lab.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-faults-'));
  });
  afterAll(async () => {
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('--per-node with one broken node: its cells fail as data-plane naming the node, the other node passes, DNS is not blamed', async () => {
    // Cluster DNS must stay on the healthy node (every target below is served by the DNS pod), so the broken
    // node is whichever one the lab's scheduler did not put the DNS pod on.
    const [dnsPod] = await client.listPods('kube-system', 'k8s-app=kube-dns');
    const nodes = (await client.inventory({ signal: AbortSignal.timeout(10_000) })).nodes.map((n) => n.name).sort();
    expect(nodes).toHaveLength(2);
    const healthy = dnsPod!.nodeName as string;
    const broken = nodes.find((n) => n !== healthy) as string;
    const scenario = writeScenario('per-node.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' }, training: { namespace: 'financial-mlops-pytorch', as: 'deployment/training-controller' } },
      targets: {
        'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' },
        'dns-service': { service: 'kube-dns', namespace: 'kube-system', port: 'dns-tcp' },
        'dns-pod': { address: dnsPod!.podIP, port: 53 },
        'dns-metrics': { service: 'kube-dns', namespace: 'kube-system', port: 'metrics' },
      },
      matrix: {
        serving: { allow: ['cluster-dns', 'dns-service', 'dns-pod'], deny: ['dns-metrics'] },
        training: { allow: ['cluster-dns', 'dns-service', 'dns-pod'], deny: ['dns-metrics'] },
      },
    });
    await lab.setFaults({ brokenNode: broken });
    try {
      const json = join(dir, 'per-node.json');
      const run = await runCli(lab, ['run', scenario, '--per-node', '--budget', '30s', '--no-progress', '-o', `json=${json}`]);
      expect(run.code).toBe(4);
      const { cells, findings } = report(json);
      expect(cells).toHaveLength(2 * 4 * 2);
      const fromBroken = cells.filter((c) => c.node === broken);
      const fromHealthy = cells.filter((c) => c.node === healthy);
      expect(fromBroken).toHaveLength(8);
      expect(fromHealthy).toHaveLength(8);
      for (const c of fromHealthy) expect({ cell: `${c.source} → ${c.target}`, pass: c.pass }).toEqual({ cell: `${c.source} → ${c.target}`, pass: true });
      for (const c of fromBroken) {
        expect(c.pass).toBe(false);
        expect(c.classification).toBe('data-plane');
        expect(c.reason).toMatch(new RegExp(`^fails from node ${broken} \\(.+\\) but passes from ${healthy}`));
      }
      expect(findings).toContainEqual(expect.stringMatching(new RegExp(`^data plane broken on node ${broken}: 8 check\\(s\\)`)));
      expect(findings.join('\n')).not.toMatch(/cluster DNS looks down|does not enforce/);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ brokenNode: undefined });
    }
  });

  it('slow pod start: passes within the budget; with a budget shorter than the start delay, exit 3 naming what was pending', async () => {
    await lab.setFaults({ slowPodStartMs: 3_000 });
    try {
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '45s', '--no-progress']);
      expect(run.code).toBe(0);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ slowPodStartMs: 0 });
    }
    await lab.setFaults({ slowPodStartMs: 20_000 });
    try {
      const json = join(dir, 'budget.json');
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '4s', '--no-progress', '-o', `json=${json}`]);
      expect(run.code).toBe(3);
      // The listener is the first thing the run waits for: the budget runs out while it is still pending, and
      // no probe pod is created after that.
      const budgetLines = run.stderr.split('\n').filter((l) => l.includes('budget exceeded'));
      expect(budgetLines).toEqual([expect.stringMatching(/^netcheck: budget exceeded with 1 pod\(s\) still pending: default\/netcheck-[a-z0-9]+-l0$/)]);
      expect(run.stderr).toMatch(/raise --budget/);
      const inCluster = report(json).cells.filter((c) => c.source !== 'ci-runner');
      expect(inCluster.length).toBeGreaterThan(0);
      for (const c of inCluster) {
        expect(c.classification).toBe('probe');
        expect(c.probe ?? null).toBeNull();
        expect(c.reason).toMatch(
          c.target === 'default-listener'
            ? /^probe did not run: listener for default-listener has no IP \(it did not start\)$/
            : /^probe did not run: budget exceeded with 1 pod\(s\) still pending: default\/netcheck-[a-z0-9]+-l0$/,
        );
      }
      expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ slowPodStartMs: 0 });
    }
  });

});
