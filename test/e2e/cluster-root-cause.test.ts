/**
 * Issue 21 on the REAL cluster (test/cluster-kit, financial-ml seeded, kube-router enforcing): root cause first —
 * CoreDNS scaled to 0 is named in the first 5 lines of `netcheck financial-ml` with its cell count, owner and next
 * command; a broken node and a policy gap at once are two causes, most cells first — and the probe from a seeded
 * workload's own pod (an ephemeral container), which leaves no container running and no pod behind, and falls back
 * to the cloned-label pod, saying so, when the image has no `node`. The BUILT CLI runs in the cluster's outside host.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict, RunFinding } from '../../src/model/verdict.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { breakNodeDataPlane, leftoverFaultRules } from '../cluster-kit/faults.js';
import { PAUSE_IMAGE } from '../cluster-kit/images.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

interface Report {
  summary: { failed: number };
  cells: Array<CellVerdict & { cause?: string }>;
  findings: string[];
  findingCells: RunFinding[];
}

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e root cause: skipped — ${skip}`);

/** The CAUSE lines of a table report (a long one wraps onto indented lines), whitespace collapsed. */
function causeLines(stdout: string): string[] {
  const causes: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('CAUSE ')) causes.push(line);
    else if (causes.length > 0 && /^ {4}\S/.test(line) && !stdout.startsWith(line)) causes[causes.length - 1] += ` ${line.trim()}`;
    else if (causes.length > 0) break;
  }
  return causes;
}

describe.skipIf(skip !== undefined)('root cause first, and the probe from the real pod, on the real cluster (issue 21)', { timeout: 420_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const runCli = (args: string[], image = c.probeImage): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', image]);
  const report = (file: string): Report => JSON.parse(readFileSync(file, 'utf8')) as Report;
  const coreDnsNode = async (): Promise<string> => (await client.listPods('kube-system', 'k8s-app=kube-dns'))[0]?.nodeName as string;

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-root-cause-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('CoreDNS scaled to 0: the first 5 lines of `netcheck financial-ml` give the cause, its cell count, owner and next command; every failing cell cites it', async () => {
    await kubectl('-n', 'kube-system', 'scale', 'deployment', 'coredns', '--replicas=0');
    try {
      await kubectl('-n', 'kube-system', 'wait', '--for=delete', 'pod', '-l', 'k8s-app=kube-dns', '--timeout=120s');
      const json = join(dir, 'coredns-0.json');
      const run = await runCli(['financial-ml', '--no-progress', '-o', 'table', '-o', `json=${json}`]);
      expect(run.code, run.stdout + run.stderr).toBe(4);
      const r = report(json);
      const head = run.stdout.split('\n').slice(0, 5).join(' ').replace(/\s+/g, ' ');
      const match = /CAUSE 1 \((\d+) cells\): CoreDNS has no ready pod \(Deployment kube-system\/coredns scaled to 0\) — platform team — next: kubectl -n kube-system get deploy coredns/.exec(head);
      expect(match, run.stdout.split('\n').slice(0, 8).join('\n')).not.toBeNull();
      expect(Number(match?.[1])).toBe(r.summary.failed);
      const failing = r.cells.filter((x) => !x.pass && x.classification !== 'known-gap');
      expect(new Set(failing.map((x) => x.cause))).toEqual(new Set(['CoreDNS has no ready pod (Deployment kube-system/coredns scaled to 0)']));
      // One name for the outage: no cell words it another way.
      expect(failing.flatMap((x) => x.findings ?? []).filter((f) => /kube-dns has no ready endpoints|the DNS service itself is down|^cluster DNS: /.test(f))).toEqual([]);
      // The chains from every source share one verdict: printed once.
      expect(run.stdout.match(/^Verdict: /gm)).toHaveLength(1);
      expect(run.stdout).toMatch(/^DNS chain shared by \d+ sources/m);
    } finally {
      await kubectl('-n', 'kube-system', 'scale', 'deployment', 'coredns', '--replicas=1');
    }
    await kubectl('-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=180s');
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it('a broken node and a policy gap at once: two causes, the one explaining more cells first, each cell under exactly one', async () => {
    // Not CoreDNS's node: then every lookup would fail through it, and DNS would be a third cause.
    const dns = await coreDnsNode();
    const broken = c.nodes.map((n) => n.name).find((n) => n !== dns) as string;
    await kubectl('label', 'namespace', 'seldon-system', 'name-');
    const fault = await breakNodeDataPlane(c, broken);
    try {
      const json = join(dir, 'node-and-gap.json');
      // --per-node: the node is compared with the other one, whatever the scheduler would have chosen.
      const run = await runCli(['financial-ml', '--per-node', '--budget', '180s', '--timeout', '2s', '--retries', '1', '--no-progress', '-o', 'table', '-o', `json=${json}`]);
      const r = report(json);
      const causes = causeLines(run.stdout);
      const counts = causes.map((line) => Number(/^CAUSE \d+ \((\d+) cells?\)/.exec(line)?.[1]));
      expect(counts, run.stdout).toEqual([...counts].sort((a, b) => b - a));
      const nodeCause = causes.findIndex((l) => l.includes(`data plane broken on node ${broken}`));
      const gapCause = causes.findIndex((l) => /policy gap: traffic from \S+ to seldon-system — namespace seldon-system lacks label name=seldon-system/.test(l));
      expect(nodeCause, causes.join('\n')).toBeGreaterThanOrEqual(0);
      expect(gapCause, causes.join('\n')).toBeGreaterThanOrEqual(0);
      expect(causes[gapCause]).toContain('next: kubectl label namespace seldon-system name=seldon-system');
      // The counts on the CAUSE lines are the cells in the JSON that cite each cause.
      for (const line of [causes[nodeCause] as string, causes[gapCause] as string]) {
        const [, n, name] = /^CAUSE \d+ \((\d+) cells?\): (.*?) — (platform|application) team/.exec(line) ?? [];
        expect(r.cells.filter((x) => x.cause === name).length, line).toBe(Number(n));
      }
      // The causes come before the table.
      expect(run.stdout.indexOf(causes[0]!.slice(0, 20))).toBeLessThan(run.stdout.search(/^serving/m));
    } finally {
      await fault.restore();
      await kubectl('label', '--overwrite', 'namespace', 'seldon-system', 'name=seldon-system');
    }
    expect(await leftoverFaultRules(c, broken)).toEqual([]);
    await kubectl('-n', 'kube-system', 'wait', '--for=condition=Ready', 'pod', '-l', 'k8s-app=kube-dns', '--timeout=180s');
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it('probe --in-pod from a seeded workload: runs in its own Ready pod (an ephemeral container), exit 0, no container left running, no pod created', async () => {
    const [pod] = await client.listWorkloadPods('financial-ml', 'deployment', 'financial-predictor');
    expect(pod, 'financial-ml/financial-predictor has a Ready pod').toBeDefined();
    const before = pod!.ephemeralContainers?.length ?? 0;
    const json = join(dir, 'in-pod.json');
    const run = await runCli(['probe', '--from', 'financial-ml/financial-predictor', '--in-pod', '--to', 'seldon-scheduler.seldon-system:9005', '--no-progress', '-o', `json=${json}`, '-o', 'table']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const r = report(json);
    expect(r.cells).toHaveLength(1);
    // The check's source is the real pod: its name, node and IP.
    expect(r.cells[0]).toMatchObject({ pass: true, probe: `financial-ml/${pod!.name}`, node: pod!.nodeName });
    expect(r.findings.join('\n')).toMatch(new RegExp(`ran in pod financial-ml/${pod!.name} on ${pod!.nodeName} \\(ephemeral container netcheck-[a-z0-9]+-e0, the pod's own identity\\)`));
    const after = await client.getPod('financial-ml', pod!.name);
    expect(after?.ephemeralContainers?.length).toBe(before + 1);
    expect(after?.ephemeralContainers?.filter((e) => e.terminated === undefined).map((e) => e.name)).toEqual([]);
    expect(after?.ephemeralContainers?.at(-1)?.terminated?.exitCode).toBe(0);
    // The workload's pod is untouched otherwise: same pod, still Ready, no restart of its container.
    expect(after).toMatchObject({ uid: pod!.uid, ready: true });
    expect(await netcheckPodsLeft(client)).toEqual([]);

    // --from NAMESPACE/POD: the pod named, without --in-pod.
    const named = await runCli(['probe', '--from', `financial-ml/${pod!.name}`, '--to', 'seldon-scheduler.seldon-system:9005', '--no-progress', '-o', `json=${join(dir, 'from-pod.json')}`]);
    expect(named.code, named.stdout + named.stderr).toBe(0);
    expect(report(join(dir, 'from-pod.json')).cells[0]).toMatchObject({ pass: true, probe: `financial-ml/${pod!.name}` });
    const again = await client.getPod('financial-ml', pod!.name);
    expect(again?.ephemeralContainers?.length).toBe(before + 2);
    expect(again?.ephemeralContainers?.filter((e) => e.terminated === undefined).map((e) => e.name)).toEqual([]);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it('--in-pod with an image that has no node: says so and falls back to the cloned-label pod, saying which ran', async () => {
    const json = join(dir, 'no-node.json');
    const run = await runCli(['probe', '--from', 'financial-ml/financial-predictor', '--in-pod', '--to', 'seldon-scheduler.seldon-system:9005', '--no-progress', '-o', `json=${json}`], PAUSE_IMAGE);
    const r = report(json);
    expect(r.findings.join('\n')).toMatch(/--in-pod: cannot run in pod financial-ml\/financial-predictor-\S+: the image \S+ has no runnable `node`.*a new pod carrying deployment\/financial-predictor's labels ran .* instead/s);
    // The clone ran with the same image: it cannot start either, and that is the cell's reason (exit 3).
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(r.cells[0]?.probe).toMatch(/^financial-ml\/netcheck-/);
    const pods = await client.listWorkloadPods('financial-ml', 'deployment', 'financial-predictor');
    expect(pods.flatMap((p) => p.ephemeralContainers ?? []).filter((e) => e.terminated === undefined && e.waiting === undefined).map((e) => e.name)).toEqual([]);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });
});
