/**
 * `netcheck explain` and `netcheck analyze` against the REAL cluster (--kubeconfig instead of --manifests): the
 * live policies, pods, namespaces and Services are read through the inventory, a NAMESPACE/WORKLOAD resolves to
 * its live pod, and the answers agree with the same command on the manifests the cluster was seeded from. Then a
 * policy is changed with kubectl and explain follows it; and a Role-only ServiceAccount sees what it cannot read
 * named, not a crash. The BUILT CLI runs inside the cluster's outside host.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MANIFESTS, runBuiltCli, type CliRun } from './built-cli.js';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e real cluster (explain/analyze): skipped — ${skip}`);

interface AnalyzeJson {
  cells: Array<{ from: string; to: string; port: number; protocol: string; allowed: boolean }>;
}

/** A live pod name as its workload's (Deployment NAME-<hash>-<id>): the manifests name the pod after the workload. */
const workloadOfPod = (key: string): string => key.replace(/-[a-z0-9]{6,10}-[a-z0-9]{5}$/, '');
/** Output with live pod names turned into workload names, and without the line saying which pod stood for a workload. */
const normalise = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !/ is a workload of \d+ pods?: judged as /.test(l))
    .map((l) => l.replace(/\b([a-z0-9-]+\/[a-z0-9-]+?)-[a-z0-9]{6,10}-[a-z0-9]{5}\b/g, '$1'))
    .join('\n');

describe.skipIf(skip !== undefined)('explain and analyze on the live cluster', { timeout: 180_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let dir: string;
  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const live = (args: string[], kubeconfig = c.kubeconfigPath): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', kubeconfig]);
  const offline = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--manifests', MANIFESTS]);

  beforeAll(() => {
    c = cluster();
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-explain-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['financial-mlops-pytorch/training-controller', 'financial-ml/financial-predictor', '8080'],
    ['financial-ml/seldon-envoy', 'financial-ml/financial-predictor', 'http'],
    ['financial-ml/financial-predictor', 'mlflow/mlflow', '5000'],
  ])('explain --from %s --to %s --port %s: the live cluster gives the manifests\' answer', async (from, to, port) => {
    const args = ['explain', '--from', from, '--to', to, '--port', port];
    const [fromCluster, fromFiles] = await Promise.all([live(args), offline(args)]);
    expect(fromCluster.code, fromCluster.stderr).toBe(0);
    expect(fromFiles.code, fromFiles.stderr).toBe(0);
    // The workload resolved to its live pod, said once per workload named.
    expect(fromCluster.stdout).toMatch(new RegExp(`^${from} is a workload of 1 pod: judged as ${from}-[a-z0-9]+-[a-z0-9]{5} \\(its replicas share its labels\\)\\.$`, 'm'));
    expect(normalise(fromCluster.stdout)).toBe(fromFiles.stdout);
    expect(fromCluster.stdout).toMatch(/^(ALLOWED|DENIED): /m);
  });

  it('analyze --kubeconfig prints the matrix, and every pair of seeded workloads agrees with the manifests', async () => {
    const table = await live(['analyze', '--port', '8080']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^from \\ to/m);
    expect(table.stdout).toMatch(/^financial-ml:$/m);
    expect(table.stdout).toMatch(/\d+ pods, \d+ cells, \d+ allowed\./);
    const [fromCluster, fromFiles] = await Promise.all([live(['analyze', '--port', '8080', '-o', 'json']), offline(['analyze', '--port', '8080', '-o', 'json'])]);
    expect(fromCluster.code, fromCluster.stderr).toBe(0);
    const expected = new Map((JSON.parse(fromFiles.stdout) as AnalyzeJson).cells.map((cell) => [`${cell.from} -> ${cell.to}`, cell.allowed]));
    const seen = new Map<string, boolean>();
    for (const cell of (JSON.parse(fromCluster.stdout) as AnalyzeJson).cells) {
      const key = `${workloadOfPod(cell.from)} -> ${workloadOfPod(cell.to)}`;
      if (expected.has(key)) seen.set(key, cell.allowed);
    }
    // Every seeded pair is in the live matrix (the cluster's own pods besides them are not compared).
    expect(seen.size).toBe(expected.size);
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(expected));
    expect([...seen.values()].some(Boolean)).toBe(true);
    expect([...seen.values()].some((allowed) => !allowed)).toBe(true);
  });

  it('an external client against the LoadBalancer address: judged at its Service\'s pods, ipBlock and node masquerade named', async () => {
    const r = await live(['explain', '--from', '203.0.113.5', '--to', '192.168.1.209', '--port', '80']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/not policed\)|outside the cluster is not policed/);
    expect(r.stdout).toMatch(/^192\.168\.1\.209 is the LoadBalancer IP of service financial-ml\/seldon-mesh/);
    expect(r.stdout).toMatch(/^DENIED: 203\.0\.113\.5 -> financial-ml\/seldon-envoy-[a-z0-9]+-[a-z0-9]{5} on 9000\/TCP$/m);
    expect(r.stdout).toMatch(/no policy isolating financial-ml\/seldon-envoy-[a-z0-9-]+ has an ipBlock: no address outside the cluster is admitted/);
    // externalTrafficPolicy Cluster: the live nodes and their addresses, the endpoint's own node admitted.
    expect(r.stdout).toContain('externalTrafficPolicy Cluster: kube-proxy masquerades traffic to 192.168.1.209');
    for (const node of c.nodes) expect(r.stdout).toMatch(new RegExp(`^ {4}- from node ${node.name} \\(\\d+\\.\\d+\\.\\d+\\.\\d+\\)`, 'm'));
    expect(r.stdout).toMatch(/- from node \S+ \([\d.]+\), the endpoint's own node: allowed \(NetworkPolicy always admits a pod's own node\)/);
  });

  it('a policy changed with kubectl: explain follows it', async () => {
    const before = await live(['explain', '--from', '203.0.113.5', '--to', '192.168.1.209', '--port', '80']);
    expect(before.stdout).toMatch(/^DENIED: /m);
    const file = join(dir, 'from-partners.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'netcheck-e2e-from-partners', namespace: 'financial-ml' },
        spec: { podSelector: { matchLabels: { app: 'seldon-envoy' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 9000 }] }] },
      }),
    );
    await kubectl('apply', '-f', file);
    try {
      const after = await live(['explain', '--from', '203.0.113.5', '--to', '192.168.1.209', '--port', '80']);
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).toMatch(/^ALLOWED: 203\.0\.113\.5 -> financial-ml\/seldon-envoy-\S+ on 9000\/TCP$/m);
      expect(after.stdout).toContain('financial-ml/netcheck-e2e-from-partners ingress[0] (from ipBlock 203.0.113.0/24) port 9000/TCP');
      expect(after.stdout).toContain('financial-ml/netcheck-e2e-from-partners ingress[0] ipBlock 203.0.113.0/24: admits 203.0.113.5');
      const outside = await live(['explain', '--from', '198.51.100.9', '--to', '192.168.1.209', '--port', '80']);
      expect(outside.stdout).toMatch(/^DENIED: /m);
      expect(outside.stdout).toContain('ipBlock 203.0.113.0/24: does not hold 198.51.100.9');
    } finally {
      await kubectl('delete', '-f', file, '--ignore-not-found');
    }
    const reverted = await live(['explain', '--from', '203.0.113.5', '--to', '192.168.1.209', '--port', '80']);
    expect(reverted.stdout).toMatch(/^DENIED: /m);
    expect(reverted.stdout).not.toContain('netcheck-e2e-from-partners');
  });

  it('a mistyped port name on the live pods: one line, exit 2', async () => {
    const r = await live(['explain', '--from', 'financial-ml/seldon-envoy', '--to', 'financial-ml/financial-predictor', '--port', 'htp']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('netcheck: no port htp on financial-ml/financial-predictor (its pods declare: http 8080/TCP); did you mean http');
  });

  it('with deploy/rbac/role.yaml only: what could not be read is named with what was assumed, no crash', async () => {
    await kubectl('create', 'namespace', 'netcheck');
    try {
      await kubectl('-n', 'netcheck', 'create', 'serviceaccount', 'netcheck');
      await kubectl('apply', '-f', 'deploy/rbac/role.yaml');
      const token = (await kubectl('-n', 'netcheck', 'create', 'token', 'netcheck', '--duration=1h')).trim();
      const kubeconfig = await c.kubeconfigFor('netcheck-explain-sa', { token });
      const r = await live(['explain', '--from', 'financial-ml/seldon-envoy', '--to', 'financial-ml/financial-predictor', '--port', '8080'], kubeconfig);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^(ALLOWED|DENIED): financial-ml\/seldon-envoy-\S+ -> financial-ml\/financial-predictor-\S+ on 8080\/TCP$/m);
      expect(r.stdout).toMatch(/^Not readable in cluster \S+ with these rights \(the verdict may be wrong there\):$/m);
      expect(r.stdout).toMatch(/^ {2}- namespace labels \(forbidden[^)]*\).*: namespaces are judged with only their kubernetes\.io\/metadata\.name label$/m);
      // analyze names no workload: the context's namespace (here none, so default) is all it reads, and it says so.
      const none = await live(['analyze', '--port', '8080'], kubeconfig);
      expect(none.code, none.stderr).toBe(0);
      expect(none.stdout).toMatch(/^no pods readable in cluster \S+ \(namespaces read: default\): nothing to analyze; with namespace-scoped rights name the namespaces with --namespace$/m);
      const matrix = await live(['analyze', '--port', '8080', '--namespace', 'financial-ml'], kubeconfig);
      expect(matrix.code, matrix.stderr).toBe(0);
      expect(matrix.stdout).toMatch(/^financial-ml:$/m);
      expect(matrix.stdout).not.toMatch(/^mlflow:$/m);
      expect(matrix.stderr).toMatch(/^netcheck: not readable in cluster \S+ with these rights \(the matrix may be wrong there\):$/m);
    } finally {
      await kubectl('delete', '-f', 'deploy/rbac/role.yaml', '--ignore-not-found');
      await kubectl('delete', 'namespace', 'netcheck', '--wait=false');
    }
  });
});
