/**
 * `netcheck run` end to end on the REAL cluster (test/cluster-kit: upstream kube-apiserver, kubelets with
 * containerd, kube-proxy, CoreDNS, kube-router enforcing the policies). The BUILT CLI runs as a subprocess
 * inside the cluster's outside host. Every observed outcome comes from real packets through kube-router's
 * rules, so a mistake in netcheck's policy engine shows up here as a mismatch. Each fault is made real: stop
 * the enforcer, scale CoreDNS to 0, stop the API server, bind a Role, remove a label; probes are made to land on
 * one node or the other by cordoning, as an operator would.
 * Asserted: classifications, reasons, findings, exit codes and the pods left behind — never wall time.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient, PodState } from '../../src/cluster/types.js';
import type { CellChange, SnapshotDiff } from '../../src/model/snapshot.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { agentListenArgs } from '../../src/probe/agent.js';
import { deleteRunPods } from '../../src/probe/cleanup.js';
import { startListeners } from '../../src/probe/lifecycle.js';
import { buildProbePod, LABEL_MANAGED_BY, newRunId, probePodName } from '../../src/probe/pod-spec.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { buildNetcheckImage } from '../cluster-kit/images.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, isBalancedXml, junitSchemaErrors, MANIFESTS, netcheckPods as netcheckPodsOf, netcheckPodsLeft, runBuiltCli, unescapeXml, waitFor, type CliRun } from './built-cli.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');

interface PodJson {
  status: { containerStatuses: Array<{ image: string; state: { terminated?: { exitCode: number } } }> };
}

interface Report {
  cells: CellVerdict[];
  findings: string[];
}

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e real cluster: skipped — ${skip}`);



// Each test is a whole netcheck run (pods, settle, checks, cleanup) on a 2-core machine that may be running other
// clusters for other test files at the same time: generous per-test time, never asserted on.
describe.skipIf(skip !== undefined)('netcheck run on the real cluster', { timeout: 240_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let client: ClusterClient;
  let dir: string;
  let c: RunningCluster;

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  /** `netcheck ...args` from the outside host, with the cluster's kubeconfig and its local probe image. */
  const runCli = (args: string[], options: { onSpawn?: (pid: number) => void; onStderr?: (stderr: string, pid: number) => void; image?: boolean } = {}): Promise<CliRun> =>
    runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, ...(options.image === false ? [] : ['--image', c.probeImage])], options);
  const report = (file: string): Report => JSON.parse(readFileSync(file, 'utf8')) as Report;
  const netcheckPods = (): Promise<PodState[]> => netcheckPodsOf(client);
  const podsLeft = (): Promise<string[]> => netcheckPodsLeft(client);
  const writeScenario = (name: string, body: Record<string, unknown>): string => {
    const file = join(dir, name);
    const scenario = { apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name: name.replace(/\.yaml$/, '') }, defaults: { timeout: '1s', retries: 0 }, ...body };
    writeFileSync(file, JSON.stringify(scenario, null, 2));
    return file;
  };
  /** Every netcheck pod gone: deleted pods linger while the kubelet stops them. */
  const noPodsLeft = async (): Promise<void> => {
    expect(await podsLeft()).toEqual([]);
  };

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-cluster-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl sees real kubelets and real pods: every node Ready, CoreDNS and the seeded workloads Running', async () => {
    const nodes = JSON.parse(await kubectl('get', 'nodes', '-o', 'json')) as { items: Array<{ metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } } }> };
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(c.nodes.map((n) => n.name));
    for (const n of nodes.items) {
      expect(n.status.nodeInfo.kubeletVersion).toBe(c.versions.kubernetes);
      expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    }
    const pods = await kubectl('get', 'pods', '-A', '-o', 'wide', '--no-headers');
    expect(pods).toMatch(/kube-system\s+coredns-\S+\s+1\/1\s+Running/);
    for (const ns of ['financial-ml', 'financial-mlops-pytorch', 'seldon-system', 'mlflow', 'minio']) expect(pods).toMatch(new RegExp(`${ns}\\s+\\S+\\s+1/1\\s+Running`));
  });

  it('a listener is handed to the probes only once its agent has bound its port, not when the kubelet calls it Ready', async () => {
    // The agent here binds 3 s after node starts, so the container is Ready (no readiness probe) long before it
    // listens; a check sent at Ready would be refused by the kernel and read as "blocked".
    const runId = newRunId();
    const [e, source, mode, plan] = agentListenArgs({ listen: [{ port: 8080, protocol: 'TCP' }] });
    const manifest = buildProbePod({
      runId, namespace: 'default', name: probePodName(runId, 'listener', 0), labels: {}, deadlineSeconds: 120, role: 'listener',
      args: [e!, `setTimeout(() => {\n${source}\n}, 3000);`, mode!, plan!], image: c.probeImage, ports: [{ port: 8080, protocol: 'TCP' }],
    });
    try {
      const [result] = await startListeners(client, [{ key: 'slow', manifest }], { signal: AbortSignal.timeout(110_000), deadline: Date.now() + 110_000 });
      expect(result?.kind).toBe('ready');
      const { namespace, name } = manifest.metadata;
      // At the moment it was handed over, the agent had already said it listens, and the kubelet had seen it Ready.
      expect(await client.readPodLog(namespace, name)).toMatch(/^\{"listening":\[\{"port":8080,"protocol":"TCP"\}\]\}$/m);
      const pod = (await client.listPods(namespace, `netcheck.io/run=${runId}`)).find((p) => p.name === name);
      expect(pod?.ready).toBe(true);
    } finally {
      await deleteRunPods(client, runId);
    }
    await noPodsLeft();
  });

  it('healthy platform: exit 0, every cell passes or is a documented known gap, runner LB checks pass; JUnit and Markdown agree; no pod left', async () => {
    const json = join(dir, 'healthy.json');
    const junit = join(dir, 'healthy.xml');
    const markdown = join(dir, 'healthy.md');
    const run = await runCli(['run', 'financial-ml', '--budget', '60s', '--no-progress', '-o', `json=${json}`, '-o', `junit=${junit}`, '-o', `markdown=${markdown}`, '-o', 'table']);
    expect(run.stderr).not.toMatch(/internal error/);
    const { cells } = report(json);
    // The failing cells first: an exit code alone does not say which check failed, or why (seen once under load).
    expect(cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap')).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    const runnerLb = cells.filter((cell) => cell.source === 'ci-runner' && !cell.known);
    expect(runnerLb.length).toBeGreaterThan(0);
    expect(runnerLb.every((cell) => cell.pass && cell.probe === 'runner')).toBe(true);
    // Every in-cluster cell was probed from a real node.
    for (const cell of cells.filter((x) => x.source !== 'ci-runner')) expect(c.nodes.map((n) => n.name)).toContain(cell.node);
    const xml = readFileSync(junit, 'utf8');
    expect((xml.match(/<testcase\b/g) ?? []).length).toBe(cells.length);
    expect((xml.match(/<failure\b/g) ?? []).length).toBe(0);
    const known = cells.filter((cell) => cell.classification === 'known-gap');
    expect((xml.match(/<skipped\b/g) ?? []).length).toBe(known.length);
    const md = readFileSync(markdown, 'utf8');
    expect(md).toContain(`${cells.length} cells, ${cells.filter((cell) => cell.pass).length} passed, 0 failed, 0 could not run, ${known.length} known gap`);
    expect(run.stdout).toContain('PASS');
    await noPodsLeft();
  });

  it('JUnit names are stable across runs whose probes land on other nodes (one node cordoned, then the other); --per-node names each pod cell with its node once; every report validates', async () => {
    const nodes = c.nodes.map((n) => n.name).sort();
    const testcaseNames = (xml: string): string[] => [...xml.matchAll(/<testcase [^>]*?\sname="([^"]*)"/g)].map(([, name]) => unescapeXml(name as string));
    const runReports = async (name: string, extra: string[] = []): Promise<{ xml: string; cells: CellVerdict[]; file: string }> => {
      const file = join(dir, `${name}.xml`);
      const json = join(dir, `${name}.json`);
      const run = await runCli(['run', 'financial-ml', ...extra, '--budget', '90s', '--no-progress', '-o', `junit=${file}`, '-o', `json=${json}`]);
      expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
      return { xml: readFileSync(file, 'utf8'), cells: report(json).cells, file };
    };
    /** A run with every probe on `node`: the other nodes cordoned, so the real scheduler has no other choice. */
    const runOnlyOn = async (node: string, name: string): Promise<{ xml: string; cells: CellVerdict[]; file: string }> => {
      const others = nodes.filter((n) => n !== node);
      for (const other of others) await kubectl('cordon', other);
      try {
        return await runReports(name);
      } finally {
        for (const other of others) await kubectl('uncordon', other);
      }
    };
    const first = await runOnlyOn(nodes[0] as string, 'on-first-node');
    const second = await runOnlyOn(nodes[1] as string, 'on-second-node');
    // JSON writes the runner's absent node as null.
    const podCells = (r: { cells: CellVerdict[] }): CellVerdict[] => r.cells.filter((x) => typeof x.node === 'string');
    // Without this the comparison below would prove nothing.
    expect(new Set(podCells(first).map((x) => x.node))).toEqual(new Set([nodes[0]]));
    expect(new Set(podCells(second).map((x) => x.node))).toEqual(new Set([nodes[1]]));
    const names = testcaseNames(first.xml);
    expect(names).toHaveLength(first.cells.length);
    expect(new Set(names).size).toBe(names.length);
    expect(testcaseNames(second.xml)).toEqual(names);
    for (const name of names) expect(name).not.toMatch(/@/);
    // Where each probe ran is still in the report, in the testcase's output.
    expect(first.xml).toContain(`node: ${nodes[0]}`);
    expect(junitSchemaErrors(first.file)).toBe('');
    expect(junitSchemaErrors(second.file)).toBe('');

    const perNode = await runReports('per-node', ['--per-node']);
    // JSON writes an absent pinnedNode as null.
    expect([...new Set(perNode.cells.flatMap((x) => (typeof x.pinnedNode === 'string' ? [x.pinnedNode] : [])))].sort()).toEqual(nodes);
    const perNodeNames = testcaseNames(perNode.xml);
    expect(new Set(perNodeNames).size).toBe(perNodeNames.length);
    expect(perNodeNames.filter((n) => n.startsWith('serving → cluster-dns '))).toEqual(nodes.map((n) => `serving → cluster-dns @${n} (allow)`));
    expect(perNodeNames.filter((n) => n.startsWith('ci-runner → ')).every((n) => !n.includes('@'))).toBe(true);
    expect(junitSchemaErrors(perNode.file)).toBe('');
    await noPodsLeft();
  });

  it('--enforce none (Flannel: policies exist, nothing enforces them): deny cells fail as data-plane, "does not enforce" finding, exit 4 (environment)', async () => {
    await c.setEnforcement('none');
    try {
      const json = join(dir, 'flannel.json');
      const junit = join(dir, 'flannel.xml');
      const run = await runCli(['run', 'financial-ml', '--budget', '60s', '--no-progress', '-o', `json=${json}`, '-o', `junit=${junit}`]);
      expect(run.code).toBe(4);
      const { cells, findings } = report(json);
      const denied = cells.filter((cell) => cell.expect === 'deny' && cell.policy === 'deny');
      expect(denied.length).toBeGreaterThan(0);
      for (const cell of denied) expect(`${cell.source} → ${cell.target} ${cell.classification}`).toBe(`${cell.source} → ${cell.target} data-plane`);
      expect(findings.join('\n')).toMatch(/does not enforce NetworkPolicies/);
      // JUnit of a failing run: exactly the failing cells carry a <failure>, typed by their classification.
      const xml = readFileSync(junit, 'utf8');
      expect(isBalancedXml(xml)).toBe(true);
      expect(junitSchemaErrors(junit)).toBe('');
      expect((xml.match(/<testcase\b/g) ?? []).length).toBe(cells.length);
      const failedCases = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"[^>]*>\s*<failure [^>]*type="([^"]+)"/g)].map((m) => `${unescapeXml(m[1]!)} ${m[2]}`);
      const failing = cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap' && cell.classification !== 'probe');
      // Names carry no node outside --per-node: the scheduler's choice would change them from run to run.
      expect(failedCases.sort()).toEqual(failing.map((cell) => `${cell.source} → ${cell.target} (${cell.expect}) ${cell.classification}`).sort());
      await noPodsLeft();
    } finally {
      await c.setEnforcement('all');
    }
  });

  it('--per-node with kube-router on node-a only (a migration halfway): the finding names the node that does not enforce, exit 4', async () => {
    const [calico, flannel] = c.nodes.map((n) => n.name) as [string, string];
    await c.setEnforcement([calico]);
    try {
      const json = join(dir, 'migration.json');
      const run = await runCli(['run', 'financial-ml', '--per-node', '--budget', '90s', '--no-progress', '-o', `json=${json}`]);
      expect(run.code).toBe(4);
      const { cells, findings } = report(json);
      const fromFlannel = cells.filter((cell) => cell.node === flannel && cell.expect === 'deny' && cell.policy === 'deny');
      expect(fromFlannel.some((cell) => !cell.pass)).toBe(true);
      for (const cell of fromFlannel.filter((x) => !x.pass)) expect(cell.classification).toBe('data-plane');
      expect(findings).toContainEqual(expect.stringMatching(new RegExp(`^node ${flannel} does not enforce NetworkPolicies .*mid-migration\\?$`)));
      expect(findings.join('\n')).not.toMatch(new RegExp(`node ${calico} does not enforce`));
      expect(findings.join('\n')).not.toMatch(/the CNI does not enforce/);
      await noPodsLeft();
    } finally {
      await c.setEnforcement('all');
    }
  });

  it('a CNI migration node by node (kube-router standing in for Calico): Flannel baseline, --predict, node-a, all; each diff shows exactly the expected classes, and the prediction comes true', async () => {
    const [nodeA, nodeB] = c.nodes.map((n) => n.name) as [string, string];
    const file = (name: string) => join(dir, `migration-${name}.json`);
    const snapshot = async (name: string, against?: string) => {
      const run = await runCli(['snapshot', 'financial-ml', '--per-node', '--budget', '120s', '--no-progress', '-o', file(name), ...(against ? ['--against', file(against)] : [])]);
      expect(run.stderr).not.toMatch(/internal error/);
      return run;
    };
    const diff = async (args: string[]) => {
      const out = join(dir, `diff-${args.map((a) => a.replace(/\W/g, '')).join('-')}.json`);
      const run = await runBuiltCli(c, ['diff', ...args.map((a) => (a.startsWith('-') ? a : file(a))), '-o', `json=${out}`]);
      expect(run.stderr).toBe('');
      return { code: run.code, diff: JSON.parse(readFileSync(out, 'utf8')) as SnapshotDiff };
    };
    const pairs = (d: SnapshotDiff, change: string) => [...new Set(d.changes.filter((x) => x.change === change).map((x) => `${x.source} → ${x.target}`))].sort();
    // Where each target's traffic ends (the node of the pods behind it): a flow changes when kube-router polices either end.
    const slices = JSON.parse(await kubectl('get', 'endpointslices', '-A', '-o', 'json')) as { items: Array<{ metadata: { namespace: string; labels?: Record<string, string> }; endpoints?: Array<{ nodeName?: string }> }> };
    const services = JSON.parse(await kubectl('get', 'services', '-A', '-o', 'json')) as { items: Array<{ metadata: { namespace: string; name: string }; status?: { loadBalancer?: { ingress?: Array<{ ip: string }> } } }> };
    const nodesOf = (namespace: string, name: string) => slices.items.filter((x) => x.metadata.namespace === namespace && x.metadata.labels?.['kubernetes.io/service-name'] === name).flatMap((x) => (x.endpoints ?? []).map((e) => e.nodeName));
    const lb = (ip: string) => services.items.find((x) => x.status?.loadBalancer?.ingress?.some((i) => i.ip === ip))!.metadata;
    const destination: Record<string, Array<string | undefined>> = {
      'cluster-dns': nodesOf('kube-system', 'kube-dns'), 'cluster-dns-tcp': nodesOf('kube-system', 'kube-dns'), 'scheduler-name': nodesOf('kube-system', 'kube-dns'), 'mlflow-name': nodesOf('kube-system', 'kube-dns'),
      'seldon-scheduler': nodesOf('seldon-system', 'seldon-scheduler'), predictor: nodesOf('financial-ml', 'financial-predictor'), 'training-api': nodesOf('financial-mlops-pytorch', 'training-controller'), 'dns-metrics': nodesOf('kube-system', 'kube-dns'),
      'mlflow-lb': nodesOf(lb('192.168.1.208').namespace, lb('192.168.1.208').name), 'minio-lb': nodesOf(lb('192.168.1.200').namespace, lb('192.168.1.200').name), 'inference-lb': nodesOf(lb('192.168.1.209').namespace, lb('192.168.1.209').name),
    };
    const touches = (x: CellChange, node: string) => x.node === node || (x.targetNode ?? undefined) === node || (x.targetNode === undefined && (destination[x.target] ?? []).includes(node));

    await c.setEnforcement('none');
    try {
      // Flannel: every deny cell leaks, and that is the baseline, not a red run.
      const baseline = await snapshot('flannel');
      expect(baseline.code).toBe(0);
      expect(baseline.stderr).toMatch(/snapshot of financial-ml written to \S+migration-flannel\.json: \d+ cells .*netcheck diff --predict/);
      const recorded = JSON.parse(readFileSync(file('flannel'), 'utf8')) as { kind: string; perNode: boolean; result: { cells: CellVerdict[] } };
      expect([recorded.kind, recorded.perNode]).toEqual(['Snapshot', true]);
      // Every node pair of the listener target is there.
      expect(recorded.result.cells.filter((x) => x.source === 'serving' && x.target === 'default-listener').map((x) => `${x.pinnedNode}→${x.targetNode}`).sort()).toEqual([`${nodeA}→${nodeA}`, `${nodeA}→${nodeB}`, `${nodeB}→${nodeA}`, `${nodeB}→${nodeB}`]);

      const predicted = await diff(['--predict', 'flannel']);
      expect(predicted.code).toBe(1);
      const deniedByPolicy = (expect_: string) => [...new Set(recorded.result.cells.filter((x) => x.expect === expect_ && x.policy === 'deny' && x.path === 'open').map((x) => `${x.source} → ${x.target}`))].sort();
      expect(pairs(predicted.diff, 'regression')).toEqual(deniedByPolicy('allow'));
      expect(pairs(predicted.diff, 'regression')).toContain('serving → mlflow-lb');
      expect(pairs(predicted.diff, 'newly-enforced')).toEqual(deniedByPolicy('deny'));

      // node-a migrated: only flows with an end on node-a change; the rest still leak.
      await c.setEnforcement([nodeA]);
      const half = await snapshot('node-a', 'flannel');
      expect(half.code).toBe(1);
      expect(half.stdout).toMatch(/Regressions \(against the intent: fix before the next node\)/);
      const step1 = await diff(['flannel', 'node-a']);
      expect(step1.code).toBe(1);
      const changed = step1.diff.changes.filter((x) => x.change === 'regression' || x.change === 'newly-enforced');
      expect(changed.length).toBeGreaterThan(0);
      for (const x of changed) expect(`${x.source} @${x.node ?? 'runner'}→${x.targetNode ?? x.target} ${x.change} touches ${nodeA}: ${touches(x, nodeA)}`).toMatch(/touches \S+: true$/);
      const listener = (from: string, to: string) => step1.diff.changes.find((x) => x.source === 'serving' && x.target === 'default-listener' && x.node === from && x.targetNode === to)?.change;
      // serving's egress is policed on node-a only; default's ingress is open (no policy there).
      expect([listener(nodeA, nodeA), listener(nodeA, nodeB), listener(nodeB, nodeA), listener(nodeB, nodeB)]).toEqual(['newly-enforced', 'newly-enforced', 'still-not-enforced', 'still-not-enforced']);
      // A denied flow still open must have an end kube-router does not police yet: one with both ends on node-a cannot.
      const bothEndsOn = (x: CellChange, node: string) =>
        (x.source === 'ci-runner' || x.node === node) && (x.targetNode !== undefined ? x.targetNode === node : (destination[x.target] ?? []).every((n) => n === node));
      const stillOpen = step1.diff.changes.filter((x) => x.change === 'still-not-enforced');
      expect(stillOpen.length).toBeGreaterThan(0);
      expect(stillOpen.filter((x) => bothEndsOn(x, nodeA)).map((x) => `${x.source} @${x.node}→${x.targetNode ?? x.target}`)).toEqual([]);

      // Done: everything the prediction said, and nothing still leaking.
      await c.setEnforcement('all');
      const done = await snapshot('all', 'node-a');
      expect(done.code).toBe(1);
      const whole = await diff(['flannel', 'all']);
      expect(pairs(whole.diff, 'regression')).toEqual(pairs(predicted.diff, 'regression'));
      expect(pairs(whole.diff, 'newly-enforced')).toEqual(pairs(predicted.diff, 'newly-enforced'));
      expect(whole.diff.counts['still-not-enforced']).toBe(0);
      // Each regression says why the policies block it.
      for (const x of whole.diff.changes.filter((y) => y.change === 'regression' && y.source !== 'ci-runner')) expect(x.policyExplanation?.length ?? 0).toBeGreaterThan(0);
      await noPodsLeft();
    } finally {
      await c.setEnforcement('all');
    }
  });

  it('AdminNetworkPolicy and Calico CRDs installed (no enforcer): the ANP and the Calico GlobalNetworkPolicy are evaluated and named; snapshots list both', async () => {
    const crd = (group: string, version: string, kind: string, plural: string) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      // A *.k8s.io group is protected: the upstream network-policy-api CRDs carry this approval annotation.
      metadata: { name: `${plural}.${group}`, ...(group.endsWith('.k8s.io') ? { annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/network-policy-api/pull/30' } } : {}) },
      spec: {
        group,
        scope: 'Cluster',
        names: { kind, plural, listKind: `${kind}List`, singular: kind.toLowerCase() },
        versions: [{ name: version, served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    const definitions = join(dir, 'crds.json');
    writeFileSync(definitions, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [crd('policy.networking.k8s.io', 'v1alpha1', 'AdminNetworkPolicy', 'adminnetworkpolicies'), crd('crd.projectcalico.org', 'v1', 'GlobalNetworkPolicy', 'globalnetworkpolicies')] }));
    const objects = join(dir, 'crd-objects.json');
    writeFileSync(objects, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'serving-from-seldon' }, spec: {
        priority: 10, subject: { namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'financial-ml' } } },
        ingress: [{ name: 'allow-seldon', action: 'Allow', from: [{ namespaces: { matchLabels: { 'kubernetes.io/metadata.name': 'seldon-system' } } }] }],
      } },
      { apiVersion: 'crd.projectcalico.org/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'training-lockdown' }, spec: { order: 100, selector: "app == 'training'", types: ['Ingress'], ingress: [{ action: 'Deny' }] } },
    ] }));
    const scenario = writeScenario('crds.yaml', {
      sources: { seldon: { namespace: 'seldon-system', as: 'deployment/seldon-scheduler' } },
      targets: { predictor: { service: 'financial-predictor', namespace: 'financial-ml', port: 8080 }, 'training-api': { service: 'training-controller', namespace: 'financial-mlops-pytorch', port: 8080 } },
      matrix: { seldon: { allow: ['predictor', 'training-api'] } },
    });
    try {
      await kubectl('apply', '-f', definitions);
      await kubectl('wait', '--for=condition=established', '--timeout=60s', 'crd/adminnetworkpolicies.policy.networking.k8s.io', 'crd/globalnetworkpolicies.crd.projectcalico.org');
      await kubectl('apply', '-f', objects);
      const json = join(dir, 'crds.json.out');
      const snapshotFile = join(dir, 'crds.snapshot.json');
      const run = await runCli(['run', scenario, '--budget', '60s', '--no-progress', '-o', `json=${json}`, '-o', `snapshot=${snapshotFile}`]);
      expect(run.stderr).not.toMatch(/internal error/);
      // kube-router enforces neither: both flows stay open, as the intent says.
      expect(run.code).toBe(0);
      const { cells } = report(json);
      const predictor = cells.find((x) => x.target === 'predictor')!;
      expect(predictor.policy).toBe('allow');
      expect(predictor.policyExplanation?.join('\n')).toMatch(/AdminNetworkPolicy serving-from-seldon \(priority 10\) ingress\[0\] 'allow-seldon': Allow/);
      const training = cells.find((x) => x.target === 'training-api')!;
      // Calico's policies are evaluated (src/policy/calico-policy.ts): the GlobalNetworkPolicy denies, and names itself.
      expect(training.policy).toBe('deny');
      expect(training.policyExplanation?.join('\n')).toMatch(/Calico GlobalNetworkPolicy training-lockdown \(order 100\) ingress\[0\]: Deny/);
      const facts = (JSON.parse(readFileSync(snapshotFile, 'utf8')) as { result: { facts: { policies: Array<{ kind: string; name: string; resourceVersion?: string }> } } }).result.facts;
      expect(facts.policies.map((p) => `${p.kind} ${p.name}`)).toEqual(expect.arrayContaining(['AdminNetworkPolicy serving-from-seldon', 'GlobalNetworkPolicy (crd.projectcalico.org) training-lockdown', 'NetworkPolicy financial-ml-isolation']));
      // Every kind of policy carries its resourceVersion, so a diff can say which one changed.
      expect(facts.policies.filter((p) => !/^\d+$/.test(p.resourceVersion ?? ''))).toEqual([]);
      await noPodsLeft();
    } finally {
      // Objects first (their kinds vanish with the definitions); a failed step above may have left either out.
      await kubectl('delete', '-f', objects, '--ignore-not-found').catch(() => undefined);
      await kubectl('delete', '-f', definitions, '--ignore-not-found');
    }
  });

  it('CoreDNS scaled to 0: name-dependent cells are DNS faults, never "blocked"; address targets keep working; exit 4', async () => {
    await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=0');
    try {
      await waitFor('CoreDNS pods gone', async () => ((await client.listPods('kube-system', 'k8s-app=kube-dns')).length === 0 ? true : undefined), 120);
      const json = join(dir, 'dns.json');
      const run = await runCli(['run', 'financial-ml', '--budget', '60s', '--no-progress', '--timeout', '1s', '--retries', '0', '-o', `json=${json}`]);
      expect(run.code).toBe(4);
      const { cells, findings } = report(json);
      const byName = new Set(['cluster-dns', 'cluster-dns-tcp', 'scheduler-name', 'mlflow-name', 'seldon-scheduler', 'predictor', 'training-api']);
      const dnsDependent = cells.filter((cell) => byName.has(cell.target) && cell.expect === 'allow' && !cell.known);
      expect(dnsDependent.length).toBeGreaterThanOrEqual(8);
      // A lookup is rejected by kube-proxy (no endpoints): `refused` for a dns target, dns-refused when a service
      // name is resolved first; either way a DNS fault.
      for (const cell of dnsDependent) expect(`${cell.source} → ${cell.target} ${cell.outcome.kind} ${cell.classification}`).toMatch(/ (refused|dns-\S+) dns$/);
      // The cell's own observation is a DNS fault, never "blocked"; the ClusterIP attempt after the failed lookup
      // (its own clause) does say whether the path itself is open or blocked.
      for (const cell of cells) expect((cell.reason ?? '').split('; via ClusterIP')[0], `${cell.source} → ${cell.target}: ${cell.reason}`).not.toMatch(/blocked/i);
      const retried = cells.filter((cell) => cell.clusterIPRetry !== undefined);
      expect(retried.length, 'service targets are retried by ClusterIP').toBeGreaterThan(0);
      for (const cell of retried) {
        const retry = cell.clusterIPRetry!;
        // Nothing is wrong with the network: the ClusterIP path is what the policies say (a REJECTed denial may read unknown).
        const want = cell.policy === 'allow' ? ['open'] : ['blocked', 'unknown'];
        expect(want, `${cell.source} → ${cell.target} policy ${cell.policy}, via ClusterIP ${retry.outcome.kind}: ${cell.reason}`).toContain(retry.path);
      }
      expect(findings.join('\n')).toMatch(/DNS/);
    } finally {
      await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=1');
      await kubectl('-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=120s');
    }
    await noPodsLeft();
  });

  it('a Service whose selector matches nothing: allowed cells to it fail as data-plane, "no ready endpoints", not a policy gap; exit 4', async () => {
    await kubectl('-n', 'seldon-system', 'patch', 'service', 'seldon-scheduler', '--type=json', '-p', '[{"op":"replace","path":"/spec/selector","value":{"app":"nothing-matches-this"}}]');
    try {
      const json = join(dir, 'no-endpoints.json');
      const run = await runCli(['run', 'financial-ml', '--budget', '60s', '--no-progress', '--timeout', '1s', '--retries', '0', '-o', `json=${json}`]);
      const { cells } = report(json);
      expect(run.code).toBe(4);
      const toScheduler = cells.filter((cell) => cell.target === 'seldon-scheduler' && cell.expect === 'allow');
      expect(toScheduler.length).toBeGreaterThan(0);
      for (const cell of toScheduler) {
        // With the cell's outcome: under load one came back `dns` (its lookup timed out at --timeout 1s).
        expect(cell.classification, `${cell.source}: ${JSON.stringify(cell.outcome)} ${cell.reason}`).toBe('data-plane');
        expect(cell.reason).toMatch(/no ready endpoints/);
      }
      expect(cells.filter((cell) => cell.target !== 'seldon-scheduler' && !cell.pass && cell.classification !== 'known-gap')).toEqual([]);
      await noPodsLeft();
    } finally {
      await kubectl('-n', 'seldon-system', 'patch', 'service', 'seldon-scheduler', '--type=json', '-p', '[{"op":"replace","path":"/spec/selector","value":{"app":"seldon-scheduler"}}]');
    }
  });

  it('PodSecurity "restricted" enforced by the real admission on every namespace the scenario touches: the run still passes', async () => {
    const namespaces = ['financial-ml', 'financial-mlops-pytorch', 'seldon-system', 'default', 'mlflow', 'minio'];
    for (const ns of namespaces) await kubectl('label', '--overwrite', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted');
    try {
      const lax = buildProbePod({ runId: 'pss', namespace: 'financial-ml', name: 'netcheck-pss-check', labels: {}, deadlineSeconds: 5, args: ['-e', '0'], role: 'probe', image: c.probeImage });
      delete lax.spec.securityContext;
      delete lax.spec.containers[0]!.securityContext;
      await expect(client.createPod(lax)).rejects.toMatchObject({ message: expect.stringMatching(/violates PodSecurity "restricted:latest"/) });
      const json = join(dir, 'restricted.json');
      const run = await runCli(['run', 'financial-ml', '--budget', '60s', '--no-progress', '-o', `json=${json}`]);
      expect(run.stderr).not.toMatch(/PodSecurity|forbidden/);
      expect(run.code).toBe(0);
      expect(report(json).cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap')).toEqual([]);
      await noPodsLeft();
    } finally {
      for (const ns of namespaces) await kubectl('label', 'namespace', ns, 'pod-security.kubernetes.io/enforce-');
    }
  });

  it('kube-system loses its `name` label: a policy gap whose reason names the label', async () => {
    await kubectl('label', 'namespace', 'kube-system', 'name-');
    try {
      await c.setEnforcement('all'); // kube-router re-syncs on the label change; wait for its chains
      const json = join(dir, 'label.json');
      const run = await runCli(['run', 'financial-ml', '--budget', '60s', '--no-progress', '--timeout', '1s', '--retries', '0', '-o', `json=${json}`]);
      expect(run.code).toBe(1);
      const gaps = report(json).cells.filter((cell) => cell.classification === 'policy-gap' && cell.target.startsWith('cluster-dns'));
      expect(gaps.length).toBeGreaterThan(0);
      for (const cell of gaps) expect(cell.reason).toMatch(/kube-system has no label `?name`?/);
      expect(gaps.some((cell) => (cell.findings ?? []).some((f) => f.includes('kubectl label namespace kube-system name=kube-system')))).toBe(true);
      await noPodsLeft();
    } finally {
      await kubectl('label', 'namespace', 'kube-system', 'name=kube-system');
    }
  });

  it('deploy/rbac/role.yaml bound to a ServiceAccount: netcheck with its token probes its namespace; without pods/log it names the missing verb, exit 3, and still writes its reports', async () => {
    await kubectl('create', 'namespace', 'netcheck');
    await kubectl('-n', 'netcheck', 'create', 'serviceaccount', 'netcheck');
    await kubectl('apply', '-f', 'deploy/rbac/role.yaml');
    const token = (await kubectl('-n', 'netcheck', 'create', 'token', 'netcheck', '--duration=1h')).trim();
    const kubeconfig = await c.kubeconfigFor('netcheck-sa', { token });
    const scenario = writeScenario('role-only.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' } },
      targets: { predictor: { service: 'financial-predictor', namespace: 'financial-ml', port: 8080 }, 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' } },
      matrix: { serving: { allow: ['predictor', 'cluster-dns'] } },
    });
    try {
      const ok = await runBuiltCli(c, ['run', scenario, '--kubeconfig', kubeconfig, '--image', c.probeImage, '--budget', '60s', '--no-progress', '-o', `json=${join(dir, 'role.json')}`]);
      expect(ok.stderr).not.toMatch(/internal error/);
      expect(ok.code).toBe(0);
      await kubectl('-n', 'financial-ml', 'patch', 'role', 'netcheck', '--type=json', '-p', '[{"op":"remove","path":"/rules/1"}]');
      const deniedJson = join(dir, 'role-denied.json');
      const deniedJunit = join(dir, 'role-denied.xml');
      const denied = await runBuiltCli(c, ['run', scenario, '--kubeconfig', kubeconfig, '--image', c.probeImage, '--budget', '60s', '--no-progress', '-o', `json=${deniedJson}`, '-o', `junit=${deniedJunit}`]);
      expect(denied.code).toBe(3);
      expect(denied.stderr).toMatch(/cannot get resource "pods\/log"|get.*pods\/log/);
      // The report is there, every cell in it, each marked as not run with the reason; in JUnit an <error>.
      const { cells } = report(deniedJson);
      expect(cells.map((cell) => `${cell.source} → ${cell.target} ${cell.classification}`).sort()).toEqual(['serving → cluster-dns probe', 'serving → predictor probe']);
      for (const cell of cells) expect(cell.reason).toMatch(/pods\/log/);
      const xml = readFileSync(deniedJunit, 'utf8');
      expect(isBalancedXml(xml)).toBe(true);
      expect((xml.match(/<testcase\b[^>]*>\s*<error\b/g) ?? []).length).toBe(2);
      expect(xml).not.toMatch(/<failure\b/);
      await noPodsLeft();
    } finally {
      await kubectl('delete', '-f', 'deploy/rbac/role.yaml', '--ignore-not-found');
      await kubectl('delete', 'namespace', 'netcheck', '--wait=false');
    }
  });

  // Contract (issue 9 item 5): a scenario naming what the cluster lacks fails those cells, not the run; the exit code
  // says a check could not run (3), not bad input (2): a deleted workload and a typo look the same from here.
  it('an `as:` workload that does not exist: its cells are not run, naming the file and line; exit 3, and the reports are still written', async () => {
    const scenario = writeScenario('missing-workload.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/no-such-predictor' } },
      targets: { 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' } },
      matrix: { serving: { allow: ['cluster-dns'] } },
    });
    const json = join(dir, 'missing-workload.json');
    const junit = join(dir, 'missing-workload.xml');
    const run = await runCli(['run', scenario, '--budget', '30s', '--no-progress', '-o', `json=${json}`, '-o', `junit=${junit}`]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/1 source could not run: serving \(deployment\/no-such-predictor not found in namespace financial-ml \(missing-workload\.yaml:\d+/);
    const { cells } = report(json);
    expect(cells).toEqual([expect.objectContaining({ source: 'serving', target: 'cluster-dns', classification: 'probe', reason: expect.stringMatching(/no-such-predictor not found in namespace financial-ml \(missing-workload\.yaml:\d+/) })]);
    expect(readFileSync(junit, 'utf8')).toMatch(/<error\b/);
    await noPodsLeft();
  });

  it('the in-cluster Job: netcheck\'s own image (laid out as deploy/image/Containerfile does) applied with `kubectl apply -k deploy/` runs to completion, exit 0, its log holds the report', async () => {
    const image = await buildNetcheckImage(join(dir, 'image'));
    await c.importImages([image]);
    // An overlay on the shipped kustomization, as a user would write one: their image, and the probe image their
    // nodes can pull (here, the one the nodes hold).
    const overlay = join(dir, 'job-overlay');
    mkdirSync(overlay);
    const [name, tag] = image.ref.split(/:(?=[^:]+$)/) as [string, string];
    writeFileSync(join(overlay, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${JSON.stringify(relative(overlay, DEPLOY))}]`,
      `images: [{ name: kube-netcheck, newName: ${JSON.stringify(name)}, newTag: ${JSON.stringify(tag)} }]`,
      'patches:',
      '  - target: { kind: Job, name: netcheck-financial-ml }',
      `    patch: '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--image"},{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"${c.probeImage}"}]'`,
      '',
    ].join('\n'));
    // The Role test deletes its `netcheck` namespace without waiting; apply into a terminating one would fail.
    await kubectl('wait', '--for=delete', 'namespace/netcheck', '--timeout=120s').catch(() => undefined);
    try {
      await kubectl('apply', '-k', overlay);
      await kubectl('-n', 'netcheck', 'wait', '--for=condition=complete', 'job/netcheck-financial-ml', '--timeout=200s').catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n${await kubectl('-n', 'netcheck', 'logs', 'job/netcheck-financial-ml').catch(() => '')}`);
      });
      const pod = JSON.parse(await kubectl('-n', 'netcheck', 'get', 'pods', '-l', 'job-name=netcheck-financial-ml', '-o', 'json')) as { items: PodJson[] };
      expect(pod.items).toHaveLength(1);
      const container = pod.items[0]!.status.containerStatuses[0]!;
      expect(container.image).toContain(name);
      expect(container.state.terminated?.exitCode).toBe(0);
      const log = await kubectl('-n', 'netcheck', 'logs', 'job/netcheck-financial-ml');
      // The terminal report: every cell of financial-ml, its summary, the cluster it ran against (in-cluster).
      expect(log).toMatch(/serving/);
      expect(log).toMatch(/ci-runner/);
      expect(log).toMatch(/known gap/i);
      expect(log).not.toMatch(/internal error|\n\s+at /);
      await noPodsLeft();
    } finally {
      await kubectl('delete', '-k', overlay, '--ignore-not-found', '--wait=true');
    }
  });

  it('a probe image that does not exist on the nodes: named at once (ErrImagePull), exit 3, no pod left', async () => {
    const run = await runBuiltCli(c, ['run', 'financial-ml', '--kubeconfig', c.kubeconfigPath, '--image', 'netcheck.local/does-not-exist:1', '--budget', '60s', '--no-progress']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(run.stderr).toMatch(/does-not-exist/);
    await noPodsLeft();
  });

  it('SIGINT mid-run: pods deleted, exit 130, the report written with every cell marked as stopped', async () => {
    let sent = false;
    const json = join(dir, 'sigint.json');
    const run = await runCli(['run', 'financial-ml', '--budget', '60s', '-o', `json=${json}`], {
      onStderr: (stderr, pid) => {
        if (!sent && /created|running|pending/i.test(stderr)) {
          sent = true;
          setTimeout(() => process.kill(pid, 'SIGINT'), 300);
        }
      },
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    const { cells } = report(json);
    expect(cells.length).toBeGreaterThan(20);
    expect(cells.filter((cell) => cell.classification === 'probe').map((cell) => cell.reason)).toContainEqual(expect.stringMatching(/SIGINT/));
    await noPodsLeft();
  });

  it('kill -9 once probe pods exist: they end on their own (plan done or deadline), and `cleanup -A` removes every one', async () => {
    const scenario = writeScenario('kill.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' }, training: { namespace: 'financial-mlops-pytorch', as: 'deployment/training-controller' } },
      targets: { 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' } },
      matrix: { serving: { allow: ['cluster-dns'] }, training: { allow: ['cluster-dns'] } },
    });
    let pid: number | undefined;
    const running = runCli(['run', scenario, '--budget', '10s', '--no-progress'], { onSpawn: (p) => (pid = p) });
    const created = await waitFor('two probe pods', async () => {
      const pods = (await netcheckPods()).filter((p) => p.labels['netcheck.io/role'] === 'probe');
      return pods.length === 2 ? pods : undefined;
    }, 400, 50);
    process.kill(pid as number, 'SIGKILL');
    expect((await running).signal).toBe('SIGKILL');
    const ended = await waitFor('probe pods ended', async () => {
      const pods = await netcheckPods();
      return pods.length === created.length && pods.every((p) => p.phase === 'Failed' || p.phase === 'Succeeded') ? pods : undefined;
    }, 120);
    expect(ended.map((p) => p.name).sort()).toEqual(created.map((p) => p.name).sort());
    // The expiry annotation is the deadline plus a grace period: until then cleanup leaves a run's pods alone.
    const cleanup = await waitFor('cleanup -A removed them', async () => {
      const result = await runCli(['cleanup', '-A'], { image: false });
      return result.code === 0 && ended.every((p) => result.stdout.includes(`deleted pod ${p.namespace}/${p.name}`)) ? result : undefined;
    }, 90, 1_000);
    expect(cleanup.stdout).toMatch(/pods deleted across all namespaces/);
    await waitFor('managed pods gone', async () => ((await client.listPods(undefined, `${LABEL_MANAGED_BY}=netcheck`)).filter((p) => !p.deleting).length === 0 ? true : undefined), 60);
  });

  it('the API server stopped mid-run: exit 3 with one unreachable line, no stack trace, the runner\'s checks kept in the report; once it is back, nothing is left behind', async () => {
    const scenario = writeScenario('api-down.yaml', {
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' }, 'ci-runner': { runner: true } },
      targets: { 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' }, 'mlflow-lb': { address: '192.168.1.208', port: 5000 } },
      matrix: { serving: { allow: ['cluster-dns'] }, 'ci-runner': { allow: ['mlflow-lb'] } },
    });
    let stopped = false;
    const json = join(dir, 'api-down.json');
    const running = runCli(['run', scenario, '--budget', '20s', '--no-progress', '-o', `json=${json}`], {
      onStderr: (stderr) => {
        if (!stopped && /created|pending|running/i.test(stderr)) stopped = true;
      },
    });
    await waitFor('the probe pod exists', async () => ((await netcheckPods()).length === 1 ? true : undefined), 400, 25);
    await c.stopApiServer();
    let run: CliRun;
    try {
      run = await running;
    } finally {
      await c.startApiServer();
    }
    expect(run.code).toBe(3);
    const lines = run.stderr.trimEnd().split('\n');
    const errors = lines.filter((l) => l.startsWith('netcheck:') && !l.startsWith('netcheck: warning:'));
    expect(errors).toEqual([expect.stringMatching(/^netcheck: API server https:\/\/127\.0\.0\.1:\d+ .*unreachable/)]);
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /i);
    const { cells } = report(json);
    expect(cells.map((cell) => `${cell.source} → ${cell.target} ${cell.classification}`).sort()).toEqual(['ci-runner → mlflow-lb pass', 'serving → cluster-dns probe']);
    expect(cells.find((cell) => cell.source === 'serving')?.reason).toMatch(/unreachable/);
    await waitFor('cleanup -A removed the pod once the API is back', async () => {
      await runCli(['cleanup', '-A'], { image: false });
      return (await podsLeft()).length === 0 ? true : undefined;
    }, 90, 1_000);
  });
});
