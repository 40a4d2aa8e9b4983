/**
 * Issue 15 on the REAL cluster (test/cluster-kit), started from the financial-ml manifests with one change: their
 * CoreDNS Deployment is pinned to node-b (nodeSelector), which the cluster kit must keep for its own CoreDNS (item 4).
 *
 * Item 1: the kube-dns Service's selector edited to match nothing while CoreDNS stays Ready. `netcheck run
 * financial-ml --per-node` from an egress-isolated namespace (serving: financial-ml, whose lookups kube-router's
 * egress rule rejects) and a non-isolated one (outsider: default, whose lookups get no answer), on both nodes:
 * every DNS cell is `dns`, the policy column toward kube-dns is `unknown` (no stand-in pod), no policy gap, no node
 * blamed, and ONE finding — the DNS chain's "kube-dns has no endpoints" — owned by the platform team, with the
 * next command. The selector is restored afterwards, and the test waits for kube-proxy on every node to serve
 * kube-dns again (its "has no endpoints" REJECT rules gone), so nothing after it sees a half-restored cluster.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { DnsChain } from '../../src/model/dns-chain.js';
import type { CellVerdict, RunFinding } from '../../src/model/verdict.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, waitFor, type CliRun } from './built-cli.js';

interface Report {
  cells: CellVerdict[];
  findings: string[];
  findingCells: RunFinding[];
  dnsChains?: DnsChain[];
}

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e DNS without endpoints: skipped — ${skip}`);

/** Where the manifests put CoreDNS: the node the cluster kit must run its own CoreDNS on. */
const COREDNS_NODE = 'node-b';

/** The financial-ml manifests, with their CoreDNS Deployment pinned to COREDNS_NODE (a copy: the scenario's stay). */
function manifestsWithPinnedCoreDns(): string {
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-dns-endpoints-manifests-'));
  cpSync(MANIFESTS, dir, { recursive: true });
  const file = join(dir, 'kube-system.yaml');
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const coredns = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'coredns');
  if (!coredns) throw new Error(`no CoreDNS Deployment in ${file}`);
  coredns.spec.template.spec.nodeSelector = { 'kubernetes.io/hostname': COREDNS_NODE };
  writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  return dir;
}

const manifests = skip === undefined ? manifestsWithPinnedCoreDns() : MANIFESTS;

/** The targets of financial-ml whose check needs a name resolved by cluster DNS (dns targets and Services by name). */
const DNS_TARGETS = ['cluster-dns', 'cluster-dns-tcp', 'scheduler-name', 'mlflow-name', 'seldon-scheduler', 'predictor', 'training-api', 'dns-metrics'];

describe.skipIf(skip !== undefined)('cluster DNS whose Service selects no pod, on the real cluster (issue 15)', { timeout: 420_000 }, () => {
  const cluster = useCluster({ manifests: [manifests] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const runCli = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage]);
  const corednsPods = async (): Promise<Array<{ node: string; ready: boolean }>> => {
    const list = JSON.parse(await kubectl('-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'json')) as {
      items: Array<{ metadata: { deletionTimestamp?: string }; spec: { nodeName?: string }; status: { conditions?: Array<{ type: string; status: string }> } }>;
    };
    return list.items
      .filter((p) => p.metadata.deletionTimestamp === undefined)
      .map((p) => ({ node: p.spec.nodeName ?? '', ready: (p.status.conditions ?? []).some((k) => k.type === 'Ready' && k.status === 'True') }));
  };
  /** Ready endpoints of kube-dns, as its EndpointSlices say. */
  const dnsEndpoints = async (): Promise<number> => {
    const slices = JSON.parse(await kubectl('-n', 'kube-system', 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=kube-dns', '-o', 'json')) as {
      items: Array<{ endpoints?: Array<{ conditions?: { ready?: boolean } }> | null }>;
    };
    return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
  };
  /** Nodes whose kube-proxy has written its REJECT rule for kube-dns without endpoints (its filter table). */
  const nodesRejectingDns = async (): Promise<string[]> => {
    const nodes: string[] = [];
    for (const node of c.nodes) {
      const { stdout } = await runCommand(c.nodeArgv(node.name, ['iptables-save', '-t', 'filter']));
      if (/kube-system\/kube-dns:dns has no endpoints/.test(stdout)) nodes.push(node.name);
    }
    return nodes;
  };

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-dns-endpoints-'));
    await waitFor('CoreDNS ready', async () => ((await corednsPods()).some((p) => p.ready) ? true : undefined), 360);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (manifests !== MANIFESTS) rmSync(manifests, { recursive: true, force: true });
  });

  it('the cluster kit runs its own CoreDNS where the seeded manifests place it (item 4)', async () => {
    const pods = await corednsPods();
    expect(pods.map((p) => p.node)).toEqual([COREDNS_NODE]);
    const spec = JSON.parse(await kubectl('-n', 'kube-system', 'get', 'deployment', 'coredns', '-o', 'jsonpath={.spec.template.spec}')) as Record<string, any>;
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/hostname': COREDNS_NODE });
    // Still the cluster's own CoreDNS: its image and Corefile, not the manifest's coredns/coredns:1.11.3.
    expect(spec.containers[0].image).not.toBe('coredns/coredns:1.11.3');
    expect(spec.containers[0].args).toEqual(['-conf', '/etc/coredns/Corefile']);
  });

  it('kube-dns selects no pod: every DNS cell dns on both nodes from both namespaces, one finding (platform team), no policy gap, no node blamed (item 1)', async () => {
    await kubectl('-n', 'kube-system', 'patch', 'service', 'kube-dns', '-p', '{"spec":{"selector":{"k8s-app":"kube-dnsx"}}}');
    try {
      // The endpoints gone, and kube-proxy on every node serving the Service as one without endpoints.
      await waitFor('kube-dns without endpoints', async () => ((await dnsEndpoints()) === 0 ? true : undefined), 240);
      await waitFor('kube-proxy rejecting kube-dns on every node', async () => ((await nodesRejectingDns()).length === c.nodes.length ? true : undefined), 240);
      expect((await corednsPods()).filter((p) => p.ready)).toHaveLength(1);

      const json = join(dir, 'no-dns-endpoints.json');
      const run = await runCli(['run', 'financial-ml', '--per-node', '--from', 'serving,outsider', '--budget', '180s', '--timeout', '2s', '--retries', '0', '--no-progress', '-o', 'table', '-o', `json=${json}`]);
      const r = JSON.parse(readFileSync(json, 'utf8')) as Report;
      const explain = `${run.stdout}\n${r.findings.join('\n')}`;
      expect(run.code, explain).toBe(4);

      const dnsCells = r.cells.filter((cell) => DNS_TARGETS.includes(cell.target));
      const where = (cell: CellVerdict): string => `${cell.source} → ${cell.target} @${cell.node}`;
      // From the egress-isolated namespace and the open one, on both nodes.
      expect([...new Set(dnsCells.map((cell) => `${cell.source}@${cell.node}`))].sort()).toEqual(['outsider@node-a', 'outsider@node-b', 'serving@node-a', 'serving@node-b']);
      for (const cell of dnsCells) expect({ cell: where(cell), classification: cell.classification }).toEqual({ cell: where(cell), classification: 'dns' });
      for (const cell of dnsCells.filter((x) => x.target.startsWith('cluster-dns'))) {
        expect({ cell: where(cell), policy: cell.policy }).toEqual({ cell: where(cell), policy: 'unknown' });
        expect(cell.policyExplanation?.[0]).toMatch(/^kube-system\/kube-dns selects no pods \(selector k8s-app=kube-dnsx\): it has no endpoints/);
      }
      expect(r.cells.filter((cell) => cell.classification === 'policy-gap').map(where)).toEqual([]);
      const everything = [...r.cells.flatMap((cell) => [cell.reason, ...(cell.policyExplanation ?? []), ...(cell.findings ?? [])]), ...r.findings].join('\n');
      expect(everything).not.toMatch(/kube-dns-endpoint|DNS is blocked by policy|policy denies this source's DNS|cluster DNS looks down/);
      // No node blamed, in findings or cells.
      expect(everything).not.toMatch(/data plane broken on node|whose data plane drops|fails from node|drops DNS|kube-proxy rejected the connection/);

      // ONE finding: the DNS chain's, about every DNS cell.
      const dnsFindings = r.findingCells.filter((f) => /DNS|kube-dns/.test(f.text));
      expect(dnsFindings.map((f) => f.text), explain).toHaveLength(1);
      const [finding] = dnsFindings;
      expect(finding).toMatchObject({ kind: 'dns-chain', owner: 'platform team', next: 'kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns' });
      expect(finding!.text).toMatch(
        /^DNS chain from outsider, serving on node-a, node-b: broken at service — Service kube-system\/kube-dns has no endpoints \(its selector k8s-app=kube-dnsx matches no pod; CoreDNS pods with labels k8s-app=kube-dns exist: 1 ready\)$/,
      );
      expect(finding!.cells.length).toBe(r.cells.filter((cell) => cell.classification === 'dns').length);
      // The table opens with it as the one cause of every DNS cell (wrapped to the terminal's width).
      expect(run.stdout.replace(/\s+/g, ' ')).toContain(
        `CAUSE 1 (${finding!.cells.length} cells): Service kube-system/kube-dns has no endpoints (its selector k8s-app=kube-dnsx matches no pod; CoreDNS pods with labels k8s-app=kube-dns exist: 1 ready) — platform team — next: kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns`,
      );
      expect(run.stdout).not.toMatch(/^CAUSE 2/m);
      expect(r.dnsChains?.map((chain) => chain.verdict.link)).toEqual(['service', 'service', 'service', 'service']);
      // The next command shows the fault: kube-dns's EndpointSlice without an endpoint.
      expect(await kubectl('-n', 'kube-system', 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=kube-dns')).toMatch(/kube-dns-\w+\s+IPv4\s+<unset>\s+<unset>/);
    } finally {
      await kubectl('-n', 'kube-system', 'patch', 'service', 'kube-dns', '-p', '{"spec":{"selector":{"k8s-app":"kube-dns"}}}');
      await waitFor('kube-dns endpoints back', async () => ((await dnsEndpoints()) > 0 ? true : undefined), 240);
      await waitFor('kube-proxy serving kube-dns on every node', async () => ((await nodesRejectingDns()).length === 0 ? true : undefined), 240);
    }
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });
});
