/**
 * The DNS chain on the REAL cluster (test/cluster-kit): each fault made real — CoreDNS scaled to 0, the kube-dns
 * Service's selector changed, egress opening only UDP 53, kube-system without its `name` label, one node's data
 * plane dropping DNS — must yield the right broken link and owner, and a next command that, run here, shows the
 * fault. `netcheck dns financial-ml` and the automatic walk of `netcheck run financial-ml` (its JSON has the chain).
 * Every fault is restored in `finally`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsChain } from '../../src/model/dns-chain.js';
import type { RunFinding } from '../../src/model/verdict.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { dropInNode } from '../cluster-kit/faults.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MANIFESTS, runBuiltCli, type CliRun } from './built-cli.js';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e DNS chain: skipped — ${skip}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip !== undefined)('the DNS chain on the real cluster', { timeout: 300_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let dir: string;

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const runCli = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage]);
  /** `netcheck dns financial-ml ... -o json`: the one chain. */
  const dnsChain = async (...extra: string[]): Promise<{ run: CliRun; chain: DnsChain }> => {
    const run = await runCli(['dns', 'financial-ml', '--timeout', '1s', '-o', 'json', ...extra]);
    let chains: DnsChain[];
    try {
      chains = (JSON.parse(run.stdout) as { chains: DnsChain[] }).chains;
    } catch {
      throw new Error(`netcheck dns printed no JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
    }
    expect(chains).toHaveLength(1);
    return { run, chain: chains[0]! };
  };
  /** The verdict's next command, run here (kubectl with the cluster's kubeconfig, netcheck as the built CLI). */
  const runNext = async (next: string): Promise<string> => {
    const argv = next.split(' ');
    if (argv[0] === 'kubectl') return kubectl(...argv.slice(1));
    if (argv[0] === 'netcheck') return (await runCli(argv.slice(1))).stdout;
    throw new Error(`not a kubectl or netcheck command: ${next}`);
  };
  const corednsPods = async (): Promise<Array<{ name: string; node: string; ready: boolean }>> => {
    const list = JSON.parse(await kubectl('-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'json')) as {
      items: Array<{ metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { conditions?: Array<{ type: string; status: string }> } }>;
    };
    return list.items
      .filter((p) => p.metadata.deletionTimestamp === undefined)
      .map((p) => ({ name: p.metadata.name, node: p.spec.nodeName ?? '', ready: (p.status.conditions ?? []).some((k) => k.type === 'Ready' && k.status === 'True') }));
  };
  const waitForCoredns = async (ready: number): Promise<void> => {
    for (let i = 0; i < 240; i++) {
      const pods = await corednsPods();
      if (pods.length === ready && pods.filter((p) => p.ready).length === ready) return;
      await sleep(500);
    }
    throw new Error(`CoreDNS: not ${ready} ready pods after 2 minutes: ${JSON.stringify(await corednsPods())}`);
  };

  beforeAll(async () => {
    c = cluster();
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-dns-'));
    await waitForCoredns(1);
  });
  afterAll(async () => {
    // Whatever a failed test left: CoreDNS back to one replica.
    await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=1').catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy cluster: no broken link, exit 0, every link ok or checked', async () => {
    const { run, chain } = await dnsChain();
    expect(run.code, run.stderr).toBe(0);
    expect(chain.verdict.status).toBe('healthy');
    expect(Object.fromEntries(chain.links.map((l) => [l.id, l.status]))).toMatchObject({ resolv: 'ok', lookup: 'ok', service: 'ok', coredns: 'ok', direct: 'ok', policy: 'ok' });
    expect(chain.links[0]!.evidence.join('\n')).toMatch(/search financial-ml\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  });

  it('CoreDNS scaled to 0: broken at coredns, platform team, and `kubectl get deploy coredns` shows 0/0; the run walks the chain too', async () => {
    await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=0');
    try {
      await waitForCoredns(0);
      const { run, chain } = await dnsChain();
      expect(run.code).toBe(4);
      expect(chain.verdict).toMatchObject({ status: 'broken', link: 'coredns', owner: 'platform team', next: 'kubectl -n kube-system get deploy coredns' });
      expect(chain.verdict.text).toBe('CoreDNS has no ready pod (Deployment kube-system/coredns scaled to 0)');
      expect(await runNext(chain.verdict.next!)).toMatch(/coredns\s+0\/0/);

      // The automatic walk: a run whose DNS cells fail carries the chain in its JSON, and its finding replaces "DNS looks down".
      const json = join(dir, 'run-coredns-0.json');
      const walked = await runCli(['run', 'financial-ml', '--budget', '90s', '--no-progress', '--timeout', '1s', '--retries', '0', '-o', `json=${json}`]);
      expect(walked.code, walked.stderr).not.toBe(0);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { dnsChains?: DnsChain[]; findings: string[]; findingCells: RunFinding[] };
      expect(report.dnsChains?.length ?? 0).toBeGreaterThan(0);
      for (const walkedChain of report.dnsChains!) expect(walkedChain.verdict).toMatchObject({ link: 'coredns', owner: 'platform team' });
      // Every chain found the same broken link: one finding (issue 15), about every cell that sent a chain walking.
      const chainFindings = report.findingCells.filter((f) => f.kind === 'dns-chain');
      expect(chainFindings.length).toBe(1);
      expect(chainFindings[0]).toMatchObject({ owner: 'platform team', next: 'kubectl -n kube-system get deploy coredns' });
      expect(report.findings.some((f) => /^cluster DNS looks down/.test(f))).toBe(false);
    } finally {
      await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=1');
      await waitForCoredns(1);
    }
  });

  it('kube-dns selector changed: broken at service (no endpoints although CoreDNS is ready), next lists the empty EndpointSlice', async () => {
    await kubectl('-n', 'kube-system', 'patch', 'service', 'kube-dns', '-p', '{"spec":{"selector":{"k8s-app":"kube-dnsx"}}}');
    try {
      const { chain } = await dnsChain();
      expect(chain.verdict).toMatchObject({ status: 'broken', link: 'service', owner: 'platform team', next: 'kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns' });
      expect(chain.verdict.text).toBe('Service kube-system/kube-dns has no endpoints (its selector k8s-app=kube-dnsx matches no pod; CoreDNS pods with labels k8s-app=kube-dns exist: 1 ready)');
      // The EndpointSlice is still there, with no endpoint.
      expect(await runNext(chain.verdict.next!)).toMatch(/kube-dns-\w+\s+IPv4\s+<unset>\s+<unset>/);
    } finally {
      await kubectl('-n', 'kube-system', 'patch', 'service', 'kube-dns', '-p', '{"spec":{"selector":{"k8s-app":"kube-dns"}}}');
    }
  });

  it('egress opening only UDP 53: the lookup over TCP fails, broken at policy naming the policies, next describes one', async () => {
    // Both policies that isolate financial-ml's egress open port 53: take TCP out of each.
    const patches = [
      { name: 'financial-ml-baseline', path: '/spec/egress/1/ports/1' },
      { name: 'financial-ml-isolation', path: '/spec/egress/2/ports/1' },
    ];
    for (const p of patches) {
      const port = JSON.parse(await kubectl('-n', 'financial-ml', 'get', 'networkpolicy', p.name, '-o', `jsonpath={.spec.egress[${p.path.split('/')[3]}].ports[1]}`)) as { protocol: string; port: number };
      expect(port).toEqual({ protocol: 'TCP', port: 53 });
    }
    for (const p of patches) await kubectl('-n', 'financial-ml', 'patch', 'networkpolicy', p.name, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: p.path }]));
    try {
      await sleep(2_000); // kube-router's sync
      const { run, chain } = await dnsChain();
      expect(run.code).toBe(1);
      expect(chain.verdict).toMatchObject({ status: 'broken', link: 'policy', owner: 'platform team' });
      expect(chain.verdict.text).toMatch(/^TCP 53 is blocked by financial-ml\/financial-ml-baseline, financial-ml\/financial-ml-isolation \(opens UDP 53 only\)/);
      const tcp = chain.links.find((l) => l.id === 'lookup')!.evidence.find((e) => e.includes('over TCP'));
      expect(tcp).toMatch(/refused|dns-timeout/);
      const udp = chain.links.find((l) => l.id === 'lookup')!.evidence.find((e) => e.includes('over UDP'));
      expect(udp).toMatch(/resolved/);
      expect(chain.verdict.next).toBe('kubectl -n financial-ml describe networkpolicy financial-ml-baseline');
      const described = await runNext(chain.verdict.next!);
      expect(described).toMatch(/53\/UDP/);
      expect(described).not.toMatch(/53\/TCP/);
    } finally {
      for (const p of patches) {
        await kubectl('-n', 'financial-ml', 'patch', 'networkpolicy', p.name, '--type=json', '-p', JSON.stringify([{ op: 'add', path: p.path, value: { protocol: 'TCP', port: 53 } }]));
      }
    }
  });

  it('kube-system without its name label: broken at policy, the missing label, and the next command adds it', async () => {
    await kubectl('label', 'namespace', 'kube-system', 'name-');
    let restored = false;
    try {
      await sleep(2_000);
      const { chain } = await dnsChain();
      expect(chain.verdict).toMatchObject({ status: 'broken', link: 'policy', owner: 'platform team', next: 'kubectl label namespace kube-system name=kube-system' });
      expect(chain.verdict.text).toMatch(/namespace kube-system has no label name, but financial-ml\/financial-ml-\w+ selects it by namespaceSelector name=kube-system/);
      // The next command is the fix: it labels (so the label was missing), and the chain is healthy again.
      expect(await runNext(chain.verdict.next!)).toMatch(/namespace\/kube-system labeled/);
      restored = true;
      await sleep(2_000);
      expect((await dnsChain()).chain.verdict.status).toBe('healthy');
    } finally {
      if (!restored) await kubectl('label', 'namespace', 'kube-system', 'name=kube-system', '--overwrite');
    }
  });

  it('with deploy/rbac/role.yaml only (a real ServiceAccount token): the kube-system links say whom to ask, the verdict does not guess', async () => {
    const role = join(import.meta.dirname, '..', '..', 'deploy', 'rbac', 'role.yaml');
    await kubectl('apply', '-f', role);
    await kubectl('create', 'namespace', 'netcheck').catch(() => undefined);
    await kubectl('-n', 'netcheck', 'create', 'serviceaccount', 'netcheck').catch(() => undefined);
    try {
      const token = (await kubectl('-n', 'netcheck', 'create', 'token', 'netcheck', '--duration=1h')).trim();
      const kubeconfig = await c.kubeconfigFor('netcheck-dns-role-only', { token });
      const run = await runBuiltCli(c, ['dns', 'financial-ml', '--timeout', '1s', '-o', 'json', '--kubeconfig', kubeconfig, '--image', c.probeImage]);
      const chain = (JSON.parse(run.stdout) as { chains: DnsChain[] }).chains[0]!;
      const coredns = chain.links.find((l) => l.id === 'coredns')!;
      expect(coredns.status).toBe('not-visible');
      expect(coredns.evidence[0]).toMatch(/not visible with these rights \(forbidden: list pods in kube-system\): ask the platform team to run `kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide`/);
      expect(chain.links.find((l) => l.id === 'service')!.status).toBe('not-visible');
      // The lookups themselves run with namespace rights: they answer, so DNS works, whatever could not be seen.
      expect(chain.links.find((l) => l.id === 'lookup')!.status).toBe('ok');
      expect(chain.verdict.status).toBe('healthy');
      expect(run.code, run.stderr).toBe(0);
    } finally {
      await kubectl('delete', '-f', role, '--ignore-not-found');
      await kubectl('delete', 'namespace', 'netcheck', '--ignore-not-found', '--wait=false');
    }
  });

  it("a node whose data plane drops DNS: broken at direct, that node named, and the chain from that node shows it too", async () => {
    // One CoreDNS pod per node, so the direct queries can tell the nodes apart.
    await kubectl('-n', 'kube-system', 'patch', 'deployment', 'coredns', '-p', JSON.stringify({
      spec: { replicas: 2, template: { spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }] } } },
    }));
    let fault: Awaited<ReturnType<typeof dropInNode>> | undefined;
    try {
      await waitForCoredns(2);
      const nodes = [...new Set((await corednsPods()).map((p) => p.node))].sort();
      expect(nodes).toEqual(c.nodes.map((n) => n.name).sort());
      const [good, bad] = nodes as [string, string];
      const { podCIDR } = c.nodes.find((n) => n.name === bad)!;
      fault = await dropInNode(c, bad, [
        ['-d', podCIDR, '-p', 'udp', '--dport', '53'],
        ['-d', podCIDR, '-p', 'tcp', '--dport', '53'],
      ]);
      const { chain } = await dnsChain('--node', good);
      expect(chain.verdict).toMatchObject({ status: 'broken', link: 'direct', owner: 'platform team', next: `netcheck dns financial-ml --node ${bad}` });
      expect(chain.verdict.text).toMatch(new RegExp(`queries to the CoreDNS pod\\(s\\) on ${bad} fail from ${good} .* while those on ${good} answer and the policies admit DNS: the data plane on ${bad} drops DNS`));
      // From the broken node itself, its own CoreDNS pod fails too while the other node's answers.
      const again = await runNext(`${chain.verdict.next!} --timeout 1s -o json`);
      const fromBad = (JSON.parse(again) as { chains: DnsChain[] }).chains[0]!;
      expect(fromBad.verdict.link).toBe('direct');
      expect(fromBad.verdict.text).toMatch(new RegExp(`the data plane on ${bad} drops DNS`));
    } finally {
      await fault?.restore();
      await kubectl('-n', 'kube-system', 'patch', 'deployment', 'coredns', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/template/spec/topologySpreadConstraints' }])).catch(() => undefined);
      await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=1');
      await waitForCoredns(1);
    }
  });
});
