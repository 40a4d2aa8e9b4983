/**
 * `netcheck run` under faults, end to end: the BUILT CLI (npm run build first) runs as a subprocess inside the
 * lab's outside host. One lab for the whole file; every test resets the faults it sets in `finally`.
 * Asserted: classifications, reasons, findings, exit codes and the pods left behind — never wall time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient, PodState } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { buildProbePod, LABEL_MANAGED_BY } from '../../src/probe/pod-spec.js';
import { startLab, type RunningLab } from '../lab/lab.js';
import { built, MANIFESTS, netcheckPods as netcheckPodsOf, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

interface Report {
  cells: CellVerdict[];
  findings: string[];
}

/** `netcheck ...args --kubeconfig <the lab's>`. */
function runCli(lab: RunningLab, args: string[], onSpawn?: (pid: number) => void): Promise<CliRun> {
  return runBuiltCli(lab, [...args, '--kubeconfig', lab.kubeconfigPath], { onSpawn });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined); gives up after `tries` polls. */
async function waitFor<T>(check: () => Promise<T | undefined>, tries: number, everyMs = 250): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
  throw new Error(`condition not met after ${tries} polls`);
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
  const netcheckPods = (): Promise<PodState[]> => netcheckPodsOf(client);
  const podsLeft = (): Promise<string[]> => netcheckPodsLeft(client);
  const managedPodsLeft = async (): Promise<string[]> =>
    (await client.listPods(undefined, `${LABEL_MANAGED_BY}=netcheck`)).filter((p) => !p.deleting).map((p) => `${p.namespace}/${p.name}`);

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
      expect(run.code).toBe(1);
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

  it('--per-node mid-migration (one node ignores policies): its denied flows fail as data-plane, the other node passes; the finding names the node, not the CNI', async () => {
    const nodes = (await client.inventory({ signal: AbortSignal.timeout(10_000) })).nodes.map((n) => n.name).sort();
    expect(nodes).toHaveLength(2);
    const [flannel, calico] = nodes as [string, string];
    await lab.setFaults({ cniIgnoresPoliciesOnNodes: [flannel] });
    try {
      const json = join(dir, 'migration.json');
      const run = await runCli(lab, ['run', 'financial-ml', '--per-node', '--budget', '60s', '--no-progress', '-o', `json=${json}`]);
      expect(run.code).toBe(1);
      const { cells, findings } = report(json);
      // Flows the policies deny (expected denied, or documented gaps), per (source, target), from each node.
      const denied = cells.filter((c) => c.policy === 'deny' && c.node !== undefined);
      const pairs = new Map<string, { flannel?: CellVerdict; calico?: CellVerdict }>();
      for (const c of denied) {
        const key = `${c.source} → ${c.target}`;
        pairs.set(key, { ...pairs.get(key), [c.node === flannel ? 'flannel' : 'calico']: c });
      }
      const onlyFromFlannel = [...pairs].filter(([, p]) => p.flannel?.pass === false && p.calico?.pass !== false && p.calico?.classification !== 'known-gap');
      expect(onlyFromFlannel.length).toBeGreaterThan(0);
      for (const [cell, p] of onlyFromFlannel) {
        expect({ cell, from: flannel, classification: p.flannel!.classification }).toEqual({ cell, from: flannel, classification: 'data-plane' });
        expect({ cell, from: calico, pass: p.calico!.pass }).toEqual({ cell, from: calico, pass: true });
      }
      // Every expected-deny cell from the Flannel node that fails is a data-plane fault (the API says deny).
      for (const c of denied.filter((c) => c.node === flannel && c.expect === 'deny' && !c.pass)) expect(`${c.source} → ${c.target} ${c.classification}`).toBe(`${c.source} → ${c.target} data-plane`);
      // From the Calico node, only flows to pods on the Flannel node leak (their ingress is not policed there),
      // and each of those leaks from the Flannel node too: enforcement is per node, the Calico side is not to blame.
      for (const [cell, p] of pairs) {
        if (p.calico === undefined || p.calico.pass || p.calico.classification === 'known-gap') continue;
        expect({ cell, classification: p.calico.classification, fromFlannel: p.flannel?.outcome.kind }).toEqual({ cell, classification: 'data-plane', fromFlannel: p.calico.outcome.kind });
      }
      expect(findings).toContainEqual(expect.stringMatching(new RegExp(`^node ${flannel} does not enforce NetworkPolicies \\(\\d+ flow\\(s\\) .*mid-migration\\?$`)));
      expect(findings.join('\n')).not.toMatch(/the CNI does not enforce/);
      expect(findings.join('\n')).not.toMatch(new RegExp(`node ${calico} does not enforce`));
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ cniIgnoresPoliciesOnNodes: [] });
    }
  });

  it('healthy run: JUnit has one testcase per cell and failures only for failing cells; Markdown has the summary and the known gaps', async () => {
    const json = join(dir, 'reports.json');
    const junit = join(dir, 'reports.xml');
    const markdown = join(dir, 'reports.md');
    const run = await runCli(lab, ['run', 'financial-ml', '--budget', '45s', '-o', `json=${json}`, '-o', `junit=${junit}`, '-o', `markdown=${markdown}`]);
    expect(run.code).toBe(0);
    const { cells } = report(json);
    const xml = readFileSync(junit, 'utf8');
    expect(xml.startsWith('<?xml')).toBe(true);
    expect(isBalancedXml(xml)).toBe(true);
    const testcases = xml.match(/<testcase\b/g) ?? [];
    expect(testcases.length).toBe(cells.length);
    const failing = cells.filter((c) => !c.pass && c.classification !== 'known-gap');
    expect((xml.match(/<failure\b/g) ?? []).length).toBe(failing.length);
    expect((xml.match(/<skipped\b/g) ?? []).length).toBe(cells.filter((c) => c.classification === 'known-gap').length);
    const md = readFileSync(markdown, 'utf8');
    const known = cells.filter((c) => c.classification === 'known-gap');
    expect(known.length).toBeGreaterThan(0);
    expect(md).toContain(`${cells.length} cells, ${cells.filter((c) => c.pass).length} passed, 0 failed, ${known.length} known gap`);
    expect(md).toContain('### Known gaps');
    for (const c of known) expect(md).toContain(`${c.source} → ${c.target}`);
    expect(await podsLeft()).toEqual([]);
  });

  it('kill -9 once probe pods exist: they stay, die at their deadline on their own, and `cleanup -A` removes every one', async () => {
    // No listener targets, so probe pods are created at once; they start slower than the budget, so each is
    // still pending when activeDeadlineSeconds fires.
    const scenario = writeScenario('kill.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' }, training: { namespace: 'financial-mlops-pytorch', as: 'deployment/training-controller' } },
      targets: { 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' } },
      matrix: { serving: { allow: ['cluster-dns'] }, training: { allow: ['cluster-dns'] } },
    });
    await lab.setFaults({ slowPodStartMs: 60_000 });
    try {
      let pid: number | undefined;
      const running = runCli(lab, ['run', scenario, '--budget', '8s', '--no-progress'], (p) => (pid = p));
      const created = await waitFor(async () => {
        const pods = (await netcheckPods()).filter((p) => p.labels['netcheck.io/role'] === 'probe');
        return pods.length === 2 ? pods : undefined;
      }, 200, 100);
      process.kill(pid as number, 'SIGKILL');
      expect((await running).signal).toBe('SIGKILL');
      const afterKill = await netcheckPods();
      expect(afterKill.map((p) => p.name).sort()).toEqual(created.map((p) => p.name).sort());
      expect(afterKill.every((p) => p.phase === 'Pending')).toBe(true);

      const ended = await waitFor(async () => {
        const pods = await netcheckPods();
        return pods.every((p) => p.phase === 'Failed') ? pods : undefined;
      }, 120);
      expect(ended.map((p) => p.name).sort()).toEqual(created.map((p) => p.name).sort());
      for (const p of ended) expect(p.reason).toBe('DeadlineExceeded');

      const cleanup = await runCli(lab, ['cleanup', '-A']);
      expect(cleanup.code).toBe(0);
      for (const p of ended) expect(cleanup.stdout).toContain(`deleted pod ${p.namespace}/${p.name}`);
      expect(cleanup.stdout).toContain(`${ended.length} pods deleted across all namespaces`);
      expect(await managedPodsLeft()).toEqual([]);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ slowPodStartMs: 0 });
    }
  });

  it('failing run (CNI ignores policies, exit 1; JUnit failures = failing cells) and infrastructure failure (image pull, exit 3) leave no pod', async () => {
    await lab.setFaults({ cniIgnoresPolicies: true });
    try {
      const json = join(dir, 'flannel.json');
      const junit = join(dir, 'flannel.xml');
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '45s', '--no-progress', '-o', `json=${json}`, '-o', `junit=${junit}`]);
      expect(run.code).toBe(1);
      expect(await podsLeft()).toEqual([]);
      // JUnit of a failing run: exactly the failing cells carry a <failure>, typed by their classification.
      const { cells } = report(json);
      const xml = readFileSync(junit, 'utf8');
      expect(isBalancedXml(xml)).toBe(true);
      expect((xml.match(/<testcase\b/g) ?? []).length).toBe(cells.length);
      const failedCases = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"[^>]*>\s*<failure [^>]*type="([^"]+)"/g)].map((m) => `${unescapeXml(m[1]!)} ${m[2]}`);
      const failing = cells.filter((c) => !c.pass && c.classification !== 'known-gap');
      expect(failing.length).toBeGreaterThan(0);
      expect(failedCases.sort()).toEqual(failing.map((c) => `${c.source} → ${c.target}${c.node ? ` @${c.node}` : ''} (${c.expect}) ${c.classification}`).sort());
    } finally {
      await lab.setFaults({ cniIgnoresPolicies: false });
    }
    await lab.setFaults({ imagePullFailure: ['netcheck-test/broken:1'] });
    try {
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '45s', '--no-progress', '--image', 'netcheck-test/broken:1']);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/ImagePull/);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ imagePullFailure: [] });
    }
  });

  it('service without endpoints: allowed cells to it fail as data-plane, naming "no ready endpoints", not a policy gap', async () => {
    await lab.setFaults({ servicesWithoutEndpoints: ['seldon-system/seldon-scheduler'] });
    try {
      const json = join(dir, 'no-endpoints.json');
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '45s', '--no-progress', '--timeout', '1s', '--retries', '0', '-o', `json=${json}`]);
      expect(run.code).toBe(1);
      const { cells } = report(json);
      const toScheduler = cells.filter((c) => c.target === 'seldon-scheduler' && c.expect === 'allow');
      expect(toScheduler.length).toBeGreaterThan(0);
      for (const c of toScheduler) {
        expect(c.policy).toBe('allow');
        expect(c.classification).toBe('data-plane');
        expect(c.reason).toMatch(/no ready endpoints/);
        expect(c.findings ?? []).toContainEqual(expect.stringMatching(/^service seldon-system\/seldon-scheduler has no ready endpoints/));
      }
      // Nothing else broke: every other cell passes or is a documented gap.
      expect(cells.filter((c) => c.target !== 'seldon-scheduler' && !c.pass && c.classification !== 'known-gap')).toEqual([]);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ servicesWithoutEndpoints: [] });
    }
  });

  it('PodSecurity "restricted" on every namespace the scenario touches: the healthy run still passes', async () => {
    await lab.setFaults({ podSecurityRestricted: ['financial-ml', 'financial-mlops-pytorch', 'seldon-system', 'default', 'kube-system'] });
    try {
      // The profile is really enforced: the same pod without its security context is rejected.
      const lax = buildProbePod({ runId: 'pss', namespace: 'financial-ml', name: 'netcheck-pss-check', labels: {}, deadlineSeconds: 5, args: ['-e', '0'], role: 'probe' });
      delete lax.spec.securityContext;
      delete lax.spec.containers[0]!.securityContext;
      await expect(client.createPod(lax)).rejects.toMatchObject({ reason: 'PodSecurity' });
      const json = join(dir, 'restricted.json');
      const run = await runCli(lab, ['run', 'financial-ml', '--budget', '45s', '--no-progress', '-o', `json=${json}`]);
      expect(run.stderr).not.toMatch(/PodSecurity|forbidden/);
      expect(run.code).toBe(0);
      const { cells } = report(json);
      expect(cells.filter((c) => !c.pass && c.classification !== 'known-gap')).toEqual([]);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ podSecurityRestricted: [] });
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

  it('API down mid-run: exit 3 with one unreachable line, no stack trace; once the API is back, the pods go', async () => {
    const scenario = writeScenario('api-down.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' } },
      targets: { 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' } },
      matrix: { serving: { allow: ['cluster-dns'] } },
    });
    // The probe pod exists and is held in ContainerCreating; the API goes away before it runs, so the run can
    // read neither its status nor its log.
    await lab.setFaults({ slowPodStartMs: 2_000 });
    try {
      const running = runCli(lab, ['run', scenario, '--budget', '8s', '--no-progress']);
      const created = await waitFor(async () => {
        const pods = await netcheckPods();
        return pods.length === 1 ? pods : undefined;
      }, 200, 50);
      await lab.setFaults({ apiDownAfterRequests: 0 });
      const run = await running;
      await lab.setFaults({ apiDownAfterRequests: undefined });
      expect(run.code).toBe(3);
      // One error line (plus its hint), and one line saying what was left behind and how it goes away.
      const lines = run.stderr.trimEnd().split('\n');
      const errors = lines.filter((l) => l.startsWith('netcheck:') && !l.startsWith('netcheck: warning:'));
      expect(errors).toEqual([expect.stringMatching(/^netcheck: API server http:\/\/127\.0\.0\.1:\d+ \(context netcheck-lab\) unreachable/)]);
      expect(lines.filter((l) => l.startsWith('netcheck: warning:'))).toEqual([
        expect.stringMatching(/could not delete the pods of run \w+ .*their deadline stops them, then `netcheck cleanup -A` removes them$/),
      ]);
      expect(lines.every((l) => l.startsWith('netcheck:') || l.startsWith('  hint:'))).toBe(true);
      expect(run.stderr).not.toMatch(/internal error|\(node:\d+\) Warning|\n\s+at /i);

      // The run could not delete its pod; its deadline stops it and `cleanup` sweeps it once the run's budget is over.
      const ended = await waitFor(async () => {
        const pods = await netcheckPods();
        return pods.every((p) => p.phase === 'Succeeded' || p.phase === 'Failed') ? pods : undefined;
      }, 120);
      expect(ended.map((p) => p.name)).toEqual(created.map((p) => p.name));
      await waitFor(async () => {
        const cleanup = await runCli(lab, ['cleanup', '-A']);
        expect(cleanup.code).toBe(0);
        return cleanup.stdout.includes(`deleted pod ${created[0]!.namespace}/${created[0]!.name}`) ? true : undefined;
      }, 20, 1_000);
      expect(await podsLeft()).toEqual([]);
    } finally {
      await lab.setFaults({ apiDownAfterRequests: undefined, slowPodStartMs: 0 });
    }
  });
});

/** Tags open and close in order (a tiny well-formedness check: no parser dependency). */
function isBalancedXml(xml: string): boolean {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (selfClose) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name as string);
  }
  const stripped = body.replace(/<[^>]*>/g, '');
  return stack.length === 0 && !/[<>]/.test(stripped) && !/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(stripped);
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
