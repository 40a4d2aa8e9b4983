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
import type { CellVerdict, RunFinding } from '../../src/model/verdict.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { startLab, type RunningLab } from '../lab/lab.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

interface Report {
  cells: CellVerdict[];
  findings: string[];
  findingCells: RunFinding[];
}

/** `netcheck ...args --kubeconfig <the lab's>`. */
function runCli(lab: RunningLab, args: string[], onSpawn?: (pid: number) => void): Promise<CliRun> {
  return runBuiltCli(lab, [...args, '--kubeconfig', lab.kubeconfigPath], { onSpawn });
}

// Whole runs on a 2-core machine other helpers' clusters share: generous per-test time, never asserted on.
describe.skipIf(!built)('netcheck run under faults in the lab', { timeout: 240_000 }, () => {
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

  // Issue 9 items 1, 2, 3, 8, 13: diagnoses that name the real cause, who fixes it and the next command.
  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', lab.kubeconfigPath, ...args])).stdout;
  const dnsNode = async (): Promise<{ dns: string; other: string }> => {
    const [dnsPod] = await client.listPods('kube-system', 'k8s-app=kube-dns');
    const nodes = (await client.inventory({ signal: AbortSignal.timeout(10_000) })).nodes.map((n) => n.name).sort();
    const dns = dnsPod!.nodeName as string;
    return { dns, other: nodes.find((n) => n !== dns) as string };
  };
  const noDnsDown = (r: Report): void => {
    expect(r.findings.join('\n')).not.toMatch(/cluster DNS looks down|the DNS service itself is down/);
    for (const c of r.cells) expect(c.findings ?? []).not.toContainEqual(expect.stringMatching(/DNS service itself is down/));
  };

  it('a target Service or namespace that does not exist: "does not exist" with did-you-mean, not a DNS outage', async () => {
    const scenario = writeScenario('nosuch.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' } },
      targets: {
        nosuch: { service: 'nosuch', namespace: 'financial-ml', port: 8080 },
        typo: { service: 'financial-predictr', namespace: 'financial-ml', port: 8080 },
        gone: { service: 'api', namespace: 'financial-mll', port: 80 },
        'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' },
      },
      matrix: { serving: { allow: ['nosuch', 'typo', 'gone', 'cluster-dns'] } },
    });
    const json = join(dir, 'nosuch.json');
    const run = await runCli(lab, ['run', scenario, '--budget', '30s', '-o', 'table', '-o', `json=${json}`]);
    const r = report(json);
    const cell = (target: string): CellVerdict => r.cells.find((c) => c.target === target) as CellVerdict;
    expect(cell('nosuch').reason).toMatch(/^service financial-ml\/nosuch does not exist: .*DNS answered NXDOMAIN/);
    expect(cell('typo').reason).toMatch(/^service financial-ml\/financial-predictr does not exist; did you mean `financial-predictor`\?/);
    expect(cell('gone').reason).toMatch(/^namespace financial-mll does not exist; did you mean `financial-ml`\?/);
    expect(cell('cluster-dns').pass).toBe(true);
    noDnsDown(r);
    const nosuch = r.findingCells.find((f) => f.text.startsWith('service financial-ml/nosuch does not exist'));
    expect(nosuch).toMatchObject({ owner: 'application team', next: 'kubectl get services -n financial-ml', cells: [{ source: 'serving', target: 'nosuch' }] });
    // The table prints who fixes it and the next command under the finding.
    expect(run.stdout).toMatch(/owner: application team · next: kubectl get services -n financial-ml/);
    expect(await podsLeft()).toEqual([]);
  });

  it('the node hosting CoreDNS broken, without --per-node: the node is named (it also hosts CoreDNS), DNS is not blamed, the rerun is the next command', async () => {
    const { dns: broken, other } = await dnsNode();
    await lab.setFaults({ brokenNode: broken });
    try {
      const json = join(dir, 'broken-dns-node.json');
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '40s', '-o', 'table', '-o', `json=${json}`]);
      expect(run.code).toBe(4);
      const r = report(json);
      noDnsDown(r);
      const node = r.findingCells.filter((f) => f.text.startsWith('data plane broken on node'));
      expect(node).toHaveLength(1);
      expect(node[0]!.text).toMatch(new RegExp(`^data plane broken on node ${broken}: .*it also hosts CoreDNS: name lookups from every node fail through it`));
      expect(node[0]).toMatchObject({ owner: 'platform team', next: 'netcheck run financial-ml --per-node' });
      // Item 13: the cells too — no lookup that timed out is left blamed on DNS, from either node.
      const lookups = r.cells.filter((c) => c.outcome.kind === 'dns-timeout' && !c.pass && c.classification !== 'known-gap');
      expect(lookups.length).toBeGreaterThan(0);
      for (const c of lookups) {
        expect({ cell: `${c.source} → ${c.target}`, classification: c.classification }).toEqual({ cell: `${c.source} → ${c.target}`, classification: 'data-plane' });
        expect(c.reason).toContain(`node ${broken}`);
      }
      expect(lookups.some((c) => c.node === other)).toBe(true);
      expect(run.stdout).toMatch(/owner: platform team · next: netcheck run financial-ml --per-node/);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ brokenNode: undefined });
    }
  });

  it('the node hosting CoreDNS broken, with --per-node: still that node, never "DNS looks down"', async () => {
    const { dns: broken } = await dnsNode();
    await lab.setFaults({ brokenNode: broken });
    try {
      const json = join(dir, 'broken-dns-node-per-node.json');
      await runCli(lab, ['run', 'financial-ml', '--per-node', '--budget', '60s', '--no-progress', '-o', `json=${json}`]);
      const r = report(json);
      noDnsDown(r);
      const node = r.findingCells.filter((f) => f.text.startsWith('data plane broken on node'));
      expect(r.findings).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^data plane broken on node ${broken}: .*it also hosts CoreDNS`))]));
      expect(node).toHaveLength(1);
      expect(node[0]!.owner).toBe('platform team');
      expect(node[0]!.next).toContain(`kubectl describe node ${broken}`);
      expect(r.cells.filter((c) => c.classification === 'dns' && c.outcome.kind === 'dns-timeout')).toEqual([]);
    } finally {
      await lab.setFaults({ brokenNode: undefined });
    }
  });

  it('the other node broken, without --per-node: its cells are the node\'s, not DNS (lookups from the healthy node resolve through the same CoreDNS)', async () => {
    const { dns: healthy, other: broken } = await dnsNode();
    await lab.setFaults({ brokenNode: broken });
    try {
      const json = join(dir, 'broken-node.json');
      await runCli(lab, ['run', 'financial-ml', '--budget', '40s', '--no-progress', '-o', `json=${json}`]);
      const r = report(json);
      noDnsDown(r);
      expect(r.findings).toContainEqual(expect.stringMatching(new RegExp(`^data plane broken on node ${broken}: `)));
      expect(r.findings.join('\n')).not.toContain(`data plane broken on node ${healthy}`);
      const fromBroken = r.cells.filter((c) => c.node === broken && !c.pass && c.outcome.kind === 'dns-timeout');
      expect(fromBroken.length).toBeGreaterThan(0);
      for (const c of fromBroken) {
        expect(c.classification).toBe('data-plane');
        expect(c.reason).toMatch(new RegExp(`its probe ran on node ${broken}.*lookups from other nodes resolve through the same CoreDNS`));
      }
    } finally {
      await lab.setFaults({ brokenNode: undefined });
    }
  });

  it('kube-system without its name label: "DNS is blocked by policy" with the label fix for the platform team, never "DNS looks down"', async () => {
    await kubectl('label', 'namespace', 'kube-system', 'name-');
    try {
      const json = join(dir, 'dns-label.json');
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '40s', '-o', 'table', '-o', `json=${json}`]);
      expect(run.code).toBe(1);
      const r = report(json);
      noDnsDown(r);
      const blocked = r.findingCells.filter((f) => f.text.startsWith('DNS is blocked by policy'));
      expect(blocked).toHaveLength(1);
      expect(blocked[0]!.text).toMatch(/financial-ml\/financial-ml-baseline.*kube-system lacks name=kube-system — fix: kubectl label namespace kube-system name=kube-system$/);
      expect(blocked[0]).toMatchObject({ owner: 'platform team', next: 'kubectl label namespace kube-system name=kube-system' });
      expect(run.stdout).toMatch(/owner: platform team · next: kubectl label namespace kube-system name=kube-system/);
      // The cells stay the policy gap they are.
      expect(r.cells.find((c) => c.source === 'serving' && c.target === 'cluster-dns')).toMatchObject({ classification: 'policy-gap' });
    } finally {
      await kubectl('label', 'namespace', 'kube-system', 'name=kube-system', '--overwrite');
    }
  });

  it('a probe image that cannot be pulled: one finding with the --image hint and the cells it stopped; each cell\'s reason is short', async () => {
    const image = 'registry.example/netcheck:missing';
    await lab.setFaults({ imagePullFailure: [image] });
    try {
      const json = join(dir, 'pull.json');
      const run = await runCli(lab, ['run', 'financial-ml', '--image', image, '--budget', '30s', '-o', 'table', '-o', `json=${json}`]);
      expect(run.code).toBe(3);
      const r = report(json);
      const pull = r.findingCells.filter((f) => /could not be pulled/.test(f.text));
      expect(pull).toHaveLength(1);
      expect(pull[0]!.text).toMatch(new RegExp(`^the probe image ${image.replaceAll('.', '\\.')} could not be pulled on node\\(s\\) \\S+.*: ErrImagePull.*give --image with an image your nodes can pull \\(any image with node 18\\+\\), or --image-pull-secret NAME$`));
      expect(pull[0]).toMatchObject({ owner: 'platform team' });
      expect(pull[0]!.next).toMatch(/^netcheck run financial-ml --image /);
      // The listener's own pod failed the same way: its cells say it has no IP (the finding names probe pods' cells).
      const stopped = r.cells.filter((c) => c.source !== 'ci-runner' && c.target !== 'default-listener');
      expect(pull[0]!.cells).toHaveLength(stopped.length);
      for (const c of stopped) {
        expect(c.classification).toBe('probe');
        expect(c.reason.length).toBeLessThan(160);
        expect(c.reason).not.toContain('rpc error');
      }
      // The registry's words appear once on screen, in the finding.
      expect(run.stdout.split('failed to resolve reference').length - 1, run.stdout).toBeLessThanOrEqual(1);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ imagePullFailure: [] });
    }
  });
});
