/**
 * Issue 15 item 1 through the run's pure layers (plan → agent results → verdicts → node attribution → run findings →
 * DNS chain findings), with plain data and the real policy engine: cluster DNS whose Service selects no pod while
 * CoreDNS is Ready. Egress-isolated pods see their lookups rejected (kube-router's egress rule) or dropped (Calico);
 * other pods see timeouts. Whatever mix, on one node or every node: every DNS cell is `dns`, the policy column is
 * `unknown` (no stand-in pod), no policy gap, no node blamed, and the chains' verdicts make ONE finding.
 */
import { describe, expect, it } from 'vitest';
import { attributeNodeFaults } from '../../src/diagnose/attribute-nodes.js';
import { findBrokenNode } from '../../src/diagnose/attribute-causes.js';
import { diagnoseCells, type TargetKinds } from '../../src/diagnose/diagnose-run.js';
import {
  CANARY_NAME,
  dnsChainFindings,
  walkDnsChain,
  withDnsChainFindings,
  type DnsClusterFacts,
  type DnsQuery,
} from '../../src/diagnose/dns-chain.js';
import { buildRunContext } from '../../src/diagnose/run-context.js';
import type { AgentCheckResult, Outcome } from '../../src/model/outcome.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import type { ClusterSnapshot, PodInfo } from '../../src/policy/types.js';
import type { ProbePodResult } from '../../src/probe/lifecycle.js';
import { judgeResults } from '../../src/run/judge-results.js';
import { planRun, type RunPlan } from '../../src/run/plan.js';
import type { Target } from '../../src/scenario/types.js';
import { cell, platformSnapshot, pod, podSource, scenario, targets } from '../run/scenario-builder.js';

const BROKEN_SELECTOR = { 'k8s-app': 'kube-dnsx' };

/** The platform with kube-dns's selector edited to match nothing: CoreDNS (node-b) Ready, no endpoints. */
function withoutDnsEndpoints(): ClusterSnapshot {
  const s = platformSnapshot();
  const placed: PodInfo[] = s.pods.map((p) => ({ ...p, node: p.name === 'coredns-1' ? 'node-b' : 'node-a' }));
  placed.push(pod('other', 'web-1', { app: 'web' }, { ip: '10.0.0.40', node: 'node-b', ports: [{ containerPort: 80, protocol: 'TCP' }] }));
  const services = s.services.map((svc) => (svc.name === 'kube-dns' ? { ...svc, selector: BROKEN_SELECTOR, readyEndpoints: 0, clusterIP: '10.96.0.10' } : { ...svc, readyEndpoints: 1 }));
  services.push({ namespace: 'other', name: 'web', type: 'ClusterIP', selector: { app: 'web' }, clusterIP: '10.96.0.40', loadBalancerIPs: [], readyEndpoints: 1, ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }] });
  return { ...s, pods: placed, services };
}

const snapshot = withoutDnsEndpoints();
const engine = createPolicyEngine(snapshot);
const scenarioTargets: Target[] = [
  { ...targets.dns('cluster-dns', 'kube-dns.kube-system.svc.cluster.local'), name: 'cluster-dns' },
  targets.dns('cluster-dns-tcp', 'kube-dns.kube-system.svc.cluster.local', 'TCP'),
  targets.service('mlflow', 'mlflow', 'financial-ml', 5000),
  targets.service('web', 'web', 'other', 80),
  targets.address('web-ip', '10.0.0.40', 80),
];
const kinds: TargetKinds = Object.fromEntries(scenarioTargets.map((t) => [t.name, t.kind]));
// serving: egress-isolated by financial-ml's baseline (DNS to kube-system only); outsider: no policy selects it.
const sources = [podSource('serving', 'financial-ml', { labels: { app: 'serving' } }), podSource('outsider', 'other', { labels: { app: 'outsider' } })];
const matrix = [
  cell('serving', 'cluster-dns', 'allow'),
  cell('serving', 'cluster-dns-tcp', 'allow'),
  cell('serving', 'mlflow', 'allow'),
  cell('serving', 'web-ip', 'deny'),
  cell('outsider', 'cluster-dns', 'allow'),
  cell('outsider', 'web', 'allow'),
  cell('outsider', 'mlflow', 'deny'),
  cell('outsider', 'web-ip', 'allow'),
];
const sc = scenario(sources, scenarioTargets, matrix);

/** How a lookup that no CoreDNS pod can answer ends, per source and data plane. */
type DataPlane = 'kube-router' | 'calico';
function failedLookup(source: string, checkKind: string, plane: DataPlane): Outcome {
  // kube-router REJECTs an isolated pod's egress to the ClusterIP (no pod behind it is admitted); Calico drops it.
  const rejected = source === 'serving' && plane === 'kube-router';
  if (checkKind === 'dns') return rejected ? { kind: 'refused' } : { kind: 'dns-timeout' };
  return rejected ? { kind: 'dns-rejected' } : { kind: 'dns-timeout' };
}

/** Each planned check's result as the agent would print it; a ClusterIP retry after a failed name connects when policy lets it. */
function agentResults(plan: RunPlan, plane: DataPlane, nodeOf: (source: string, node: string | undefined) => string): ProbePodResult[] {
  return plan.pods.map((p) => {
    const source = p.sources[0]!;
    const results: AgentCheckResult[] = p.plan.checks.map((check) => {
      const planned = plan.checks.find((c) => c.check?.id === check.id)!;
      const byAddress = planned.target.kind === 'address';
      // By address, no name: the policies hold (serving's egress isolation keeps it from `other`).
      const outcome: Outcome = byAddress ? (source === 'serving' ? { kind: 'timeout' } : { kind: 'connected' }) : failedLookup(source, check.kind, plane);
      const result: AgentCheckResult = { id: check.id, outcome, attempts: [{ outcome, ms: 5 }] };
      if (check.fallback !== undefined) {
        // The ClusterIP itself: open unless policy denies it (outsider → mlflow is denied by financial-ml's ingress).
        const denied = source === 'outsider' && planned.target.name === 'mlflow';
        result.fallback = { target: check.fallback, outcome: denied ? { kind: 'timeout' } : { kind: 'connected' }, ms: 5 };
      }
      return result;
    });
    return { kind: 'done', key: p.key, namespace: p.namespace, name: `probe-${p.key.length}`, node: nodeOf(source, p.node), results, complete: true, problems: [] };
  });
}

/** The DNS chain each failed source walks: its lookups fail (as its cells did), CoreDNS answers directly. */
function chainFor(namespace: string, labels: Record<string, string>, node: string, lookup: Outcome) {
  const facts: DnsClusterFacts = {
    namespace: 'kube-system',
    services: [{ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', selector: BROKEN_SELECTOR }],
    endpoints: { 'kube-dns': [] },
    pods: [{ namespace: 'kube-system', name: 'coredns-1', labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': 'abc' }, ip: '10.0.0.10', node: 'node-b', ready: true, phase: 'Running' }],
    deployments: [{ namespace: 'kube-system', name: 'coredns', replicas: 1, readyReplicas: 1, selector: { 'k8s-app': 'kube-dns' } }],
  };
  const q = (protocol: 'UDP' | 'TCP', outcome: Outcome, via: DnsQuery['via'], server: string): DnsQuery => ({ name: CANARY_NAME, protocol, server, via, outcome });
  const answered: Outcome = { kind: 'resolved', addresses: ['10.96.0.1'] };
  return walkDnsChain({
    source: { namespace, labels, node, description: namespace === 'financial-ml' ? 'serving' : 'outsider' },
    resolv: { nameservers: ['10.96.0.10'], search: [`${namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'], ndots: 5, options: [] },
    queries: [q('UDP', lookup, 'resolv', '10.96.0.10'), q('TCP', lookup, 'resolv', '10.96.0.10'), q('UDP', answered, 'pod', '10.0.0.10'), q('TCP', answered, 'pod', '10.0.0.10')],
    facts,
    snapshot,
  });
}

function runThrough(plane: DataPlane, perNode: boolean) {
  const nodes = ['node-a', 'node-b'];
  const plan = planRun(sc, { workloadLabels: {}, listenerIPs: {}, services: snapshot.services, timeoutMs: 1000, retries: 0, ...(perNode ? { perNode: nodes } : {}) });
  // Without --per-node each source lands on one node: the isolated one beside CoreDNS (node-b), the other on node-a —
  // the run, where node-a was blamed because the rejected lookups counted as lookups answered on node-b.
  const nodeOf = (source: string, node: string | undefined): string => node ?? (source === 'serving' ? 'node-b' : 'node-a');
  const judged = judgeResults(plan, { podResults: agentResults(plan, plane, nodeOf), runner: undefined }, { snapshot, engine, workloadLabels: {}, assess: {} });
  const context = buildRunContext(sc, snapshot, { scenarioArg: 'financial-ml', perNode, image: 'node:22-alpine', namespacesListed: true });
  const { cells, findings } = diagnoseCells(attributeNodeFaults(judged), kinds, context);
  const groups = new Map<string, CellVerdict[]>();
  for (const c of cells) {
    if (c.pass || c.classification !== 'dns') continue;
    const key = `${c.source}@${c.node}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const walked = [...groups.entries()].map(([key, affected]) => {
    const [source, node] = key.split('@') as [string, string];
    const ns = source === 'serving' ? 'financial-ml' : 'other';
    return { chain: chainFor(ns, { app: source }, node, failedLookup(source, 'dns', plane)), cells: affected };
  });
  return { cells, findings: withDnsChainFindings(findings, dnsChainFindings(walked)), context, judged };
}

const DNS_TARGETS = new Set(['cluster-dns', 'cluster-dns-tcp', 'mlflow', 'web']);

describe('cluster DNS whose Service selects no pod (issue 15 item 1)', () => {
  it.each([
    { plane: 'kube-router' as const, perNode: false },
    { plane: 'kube-router' as const, perNode: true },
    { plane: 'calico' as const, perNode: false },
    { plane: 'calico' as const, perNode: true },
  ])('$plane, per-node $perNode: every DNS cell dns, policy unknown, no policy gap, no node blamed, one finding', ({ plane, perNode }) => {
    const { cells, findings, context } = runThrough(plane, perNode);
    const dnsCells = cells.filter((c) => DNS_TARGETS.has(c.target));
    expect(dnsCells.length).toBe(perNode ? 12 : 6);
    for (const c of dnsCells) expect({ cell: `${c.source} → ${c.target} @${c.node}`, classification: c.classification }).toEqual({ cell: `${c.source} → ${c.target} @${c.node}`, classification: 'dns' });
    // The policy column toward kube-dns: unknown with the reason, never a judgement against a pod that does not exist.
    for (const c of dnsCells.filter((x) => x.target.startsWith('cluster-dns'))) {
      expect(c.policy).toBe('unknown');
      expect(c.policyExplanation).toEqual(["kube-system/kube-dns selects no pods (selector k8s-app=kube-dnsx): it has no endpoints, so no pod's policies decide this flow"]);
      expect(c.reason).toMatch(/no DNS answer for kube-dns\.kube-system\.svc\.cluster\.local \((refused: the enforcer or kube-proxy rejected it|dns-timeout)\): service kube-system\/kube-dns has no ready endpoints, so no DNS server was reached$/);
    }
    const all = [...cells.flatMap((c) => [c.reason, ...(c.policyExplanation ?? []), ...(c.findings ?? [])]), ...findings.map((f) => f.text)].join('\n');
    expect(all).not.toMatch(/kube-dns-endpoint|DNS is blocked by policy|policy denies this source's DNS|data plane broken|whose data plane drops/);
    expect(cells.filter((c) => c.classification === 'policy-gap')).toEqual([]);
    expect(findBrokenNode(cells, context)).toBeUndefined();
    // The checks by address need no name: they pass on every node.
    expect(cells.filter((c) => c.target === 'web-ip').every((c) => c.pass)).toBe(true);

    expect(findings.map((f) => f.text)).toHaveLength(1);
    const [only] = findings;
    expect(only).toMatchObject({ kind: 'dns-chain', owner: 'platform team', next: 'kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns' });
    const where = perNode ? 'outsider, serving on node-a, node-b' : 'outsider, serving on node-a, node-b';
    expect(only!.text).toBe(
      `DNS chain from ${where}: broken at service — Service kube-system/kube-dns has no endpoints (its selector k8s-app=kube-dnsx matches no pod; CoreDNS pods with labels k8s-app=kube-dns exist: 1 ready)`,
    );
    expect(only!.cells.length).toBe(cells.filter((c) => c.classification === 'dns').length);
  });

  it('cell findings name the missing endpoints of cluster DNS, not a policy', () => {
    const { cells } = runThrough('kube-router', false);
    const byName = cells.find((c) => c.source === 'serving' && c.target === 'mlflow')!;
    expect(byName.outcome.kind).toBe('dns-rejected');
    expect(byName.findings).toContain('cluster DNS: service kube-system/kube-dns has no ready endpoints (its selector matches no pod): no name resolves, whatever the policies say');
  });
});

describe('findBrokenNode: a node is blamed only when checks through other nodes succeed', () => {
  const context = buildRunContext(sc, snapshot, { scenarioArg: 'financial-ml', perNode: false, image: 'node:22-alpine', namespacesListed: true });
  const fail = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => ({
    expect: 'allow', policy: 'unknown', policyExplanation: [], attempts: [], pass: false, classification: 'dns', reason: 'x', outcome: { kind: 'dns-timeout' }, ...p,
  });

  it('a lookup rejected at the DNS port (beside CoreDNS, node-b) is not a lookup answered there: node-a\'s timeouts are not its own', () => {
    const cells = [
      fail({ source: 'serving', target: 'mlflow', node: 'node-b', outcome: { kind: 'dns-rejected' } }),
      fail({ source: 'outsider', target: 'web', node: 'node-a' }),
      fail({ source: 'outsider', target: 'cluster-dns', node: 'node-a' }),
    ];
    expect(findBrokenNode(cells, context)).toBeUndefined();
    // An rcode REFUSED answer is one (a DNS server answered from node-b): then node-a, whose lookups got nothing, is suspect.
    const answeredThere = cells.map((c, i) => (i === 0 ? { ...c, outcome: { kind: 'dns-refused' as const } } : c));
    expect(findBrokenNode(answeredThere, context)?.node).toBe('node-a');
  });

  it('a ClusterIP retry that connected from node-a shows node-a forwards traffic, whatever its lookups got', () => {
    const cells = [
      fail({ source: 'serving', target: 'mlflow', node: 'node-b', outcome: { kind: 'dns-refused' } }),
      fail({ source: 'outsider', target: 'web', node: 'node-a', clusterIPRetry: { address: '10.96.0.40', port: 80, outcome: { kind: 'connected' }, path: 'open' } }),
      fail({ source: 'outsider', target: 'cluster-dns', node: 'node-a' }),
    ];
    expect(findBrokenNode(cells, context)).toBeUndefined();
  });
});
