import { describe, expect, it } from 'vitest';
import { CANARY_NAME, dnsChainFindings, walkDnsChain, type DnsChainEvidence, type DnsClusterFacts, type DnsPodFact, type DnsQuery } from '../../src/diagnose/dns-chain.js';
import type { Outcome } from '../../src/model/outcome.js';
import type { ClusterSnapshot, NetworkPolicy } from '../../src/policy/types.js';

const ok: Outcome = { kind: 'resolved', addresses: ['10.96.0.1'] };
const timeout: Outcome = { kind: 'dns-timeout' };
const refused: Outcome = { kind: 'refused' };

const coredns = (name: string, node: string, ip: string, ready = true): DnsPodFact => ({
  namespace: 'kube-system', name, labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': 'abc' }, ip, node, ready, phase: ready ? 'Running' : 'Pending',
});

/** A healthy cluster: two CoreDNS pods, one per node, kube-dns with both ready, the platform's baseline policy. */
function facts(overrides: Partial<DnsClusterFacts> = {}): DnsClusterFacts {
  return {
    namespace: 'kube-system',
    services: [{ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dns' } }],
    endpoints: {
      'kube-dns': [
        { ip: '10.244.0.5', ready: true, node: 'node-a', pod: 'kube-system/coredns-a' },
        { ip: '10.244.1.5', ready: true, node: 'node-b', pod: 'kube-system/coredns-b' },
      ],
    },
    pods: [coredns('coredns-a', 'node-a', '10.244.0.5'), coredns('coredns-b', 'node-b', '10.244.1.5')],
    deployments: [{ namespace: 'kube-system', name: 'coredns', replicas: 2, readyReplicas: 2, selector: { 'k8s-app': 'kube-dns' } }],
    ...overrides,
  };
}

const dnsEgress = (name: string, protocols: Array<'UDP' | 'TCP'>, nsLabel: Record<string, string> = { name: 'kube-system' }): NetworkPolicy => ({
  name,
  namespace: 'financial-ml',
  podSelector: {},
  policyTypes: ['Egress'],
  egress: [{ to: [{ namespaceSelector: { matchLabels: nsLabel } }], ports: protocols.map((protocol) => ({ protocol, port: 53 })) }],
});

function snapshot(policies: NetworkPolicy[] = [dnsEgress('financial-ml-baseline', ['UDP', 'TCP'])], kubeSystemLabels: Record<string, string> = { name: 'kube-system' }, withKubeSystem = true): ClusterSnapshot {
  return {
    namespaces: [
      { name: 'financial-ml', labels: { 'kubernetes.io/metadata.name': 'financial-ml', name: 'financial-ml' } },
      ...(withKubeSystem ? [{ name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system', ...kubeSystemLabels } }] : []),
    ],
    pods: [],
    services: [],
    policies,
    nodes: [{ name: 'node-a', labels: {} }, { name: 'node-b', labels: {} }],
  };
}

const q = (protocol: 'UDP' | 'TCP', outcome: Outcome, via: DnsQuery['via'] = 'resolv', server = '10.96.0.10', podNode?: string): DnsQuery => ({
  name: CANARY_NAME, protocol, server, via, outcome, ...(podNode ? { pod: `kube-system/coredns-${podNode.slice(-1)}`, podNode } : {}),
});
const direct = (outcomes: { a: Outcome; b: Outcome }): DnsQuery[] => [
  q('UDP', outcomes.a, 'pod', '10.244.0.5', 'node-a'),
  q('TCP', outcomes.a, 'pod', '10.244.0.5', 'node-a'),
  q('UDP', outcomes.b, 'pod', '10.244.1.5', 'node-b'),
  q('TCP', outcomes.b, 'pod', '10.244.1.5', 'node-b'),
];

function evidence(overrides: Partial<DnsChainEvidence> = {}): DnsChainEvidence {
  return {
    source: { namespace: 'financial-ml', labels: { app: 'serving' }, node: 'node-a' },
    resolv: { nameservers: ['10.96.0.10'], search: ['financial-ml.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5, options: ['ndots:5'] },
    queries: [q('UDP', ok), q('TCP', ok), ...direct({ a: ok, b: ok })],
    facts: facts(),
    snapshot: snapshot(),
    ...overrides,
  };
}

describe('walkDnsChain: one verdict per broken link', () => {
  it('a healthy chain has no broken link and every link ok', () => {
    const chain = walkDnsChain(evidence());
    expect(chain.kind).toBe('dns-chain');
    expect(chain.verdict.status).toBe('healthy');
    expect(chain.verdict.link).toBeUndefined();
    expect(chain.links.map((l) => [l.id, l.status])).toEqual([
      ['resolv', 'ok'], ['lookup', 'ok'], ['service', 'ok'], ['coredns', 'ok'], ['direct', 'ok'], ['policy', 'ok'],
    ]);
    expect(chain.links[0]!.evidence).toContain('ndots 5');
  });

  it('recognises a NodeLocal DNSCache nameserver and still finds kube-dns behind it', () => {
    const chain = walkDnsChain(evidence({ resolv: { nameservers: ['169.254.20.10'], search: [], ndots: 5, options: [] } }));
    expect(chain.links[0]!.evidence[0]).toMatch(/169\.254\.20\.10 \(a node-local cache: NodeLocal DNSCache\)/);
    expect(chain.links[2]!.evidence[0]).toMatch(/Service kube-system\/kube-dns ClusterIP 10\.96\.0\.10 \(behind the node-local cache 169\.254\.20\.10\)/);
    expect(chain.verdict.status).toBe('healthy');
  });

  it('CoreDNS scaled to 0: the coredns link, platform team, kubectl get deploy', () => {
    const chain = walkDnsChain(
      evidence({
        queries: [q('UDP', timeout), q('TCP', refused)],
        facts: facts({ pods: [], endpoints: { 'kube-dns': [] }, deployments: [{ namespace: 'kube-system', name: 'coredns', replicas: 0, readyReplicas: 0, selector: { 'k8s-app': 'kube-dns' } }] }),
      }),
    );
    expect(chain.verdict).toMatchObject({
      status: 'broken', link: 'coredns', owner: 'platform team', next: 'kubectl -n kube-system get deploy coredns',
    });
    expect(chain.verdict.text).toBe('CoreDNS has no ready pod (Deployment kube-system/coredns scaled to 0)');
  });

  it('a Service selector that matches no pod: the service link names the selector and the ready pods', () => {
    const chain = walkDnsChain(
      evidence({
        queries: [q('UDP', timeout), q('TCP', refused), ...direct({ a: ok, b: ok })],
        facts: facts({ services: [{ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dnsx' } }], endpoints: { 'kube-dns': [] } }),
      }),
    );
    expect(chain.verdict).toMatchObject({ link: 'service', owner: 'platform team', next: 'kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns' });
    expect(chain.verdict.text).toBe('Service kube-system/kube-dns has no endpoints (its selector k8s-app=kube-dnsx matches no pod; CoreDNS pods with labels k8s-app=kube-dns exist: 2 ready)');
    expect(chain.links.find((l) => l.id === 'service')!.status).toBe('broken');
  });

  it('an egress policy opening only UDP 53: TCP fallback broken, the policy named, its owner', () => {
    const chain = walkDnsChain(
      evidence({
        queries: [q('UDP', ok), q('TCP', refused), ...direct({ a: ok, b: ok })],
        snapshot: snapshot([dnsEgress('allow-dns', ['UDP'])]),
      }),
    );
    expect(chain.verdict.link).toBe('policy');
    expect(chain.verdict.text).toMatch(/^TCP 53 is blocked by financial-ml\/allow-dns \(opens UDP 53 only\): answers over 512 bytes and truncated \(TC\) fallbacks fail \(observed: .*TCP.*refused\)$/);
    expect(chain.verdict.owner).toBe('platform team');
    expect(chain.verdict.next).toBe('kubectl -n financial-ml describe networkpolicy allow-dns');
  });

  it('kube-system without the name label the policy selects: the label and the kubectl label fix', () => {
    const chain = walkDnsChain(
      evidence({ queries: [q('UDP', refused), q('TCP', refused)], snapshot: snapshot(undefined, {}) }),
    );
    expect(chain.verdict).toMatchObject({ link: 'policy', owner: 'platform team', next: 'kubectl label namespace kube-system name=kube-system' });
    expect(chain.verdict.text).toBe(
      'port 53 over UDP and TCP is denied: namespace kube-system has no label name, but financial-ml/financial-ml-baseline selects it by namespaceSelector name=kube-system',
    );
  });

  it('without kube-system visible, no missing label is claimed (the policy is still named)', () => {
    const chain = walkDnsChain(evidence({ queries: [q('UDP', refused), q('TCP', refused)], snapshot: snapshot(undefined, {}, false) }));
    expect(chain.verdict.text).not.toMatch(/has no label/);
    expect(chain.verdict.text).toMatch(/denied by financial-ml\/financial-ml-baseline/);
    expect(chain.links.find((l) => l.id === 'policy')!.evidence.join('\n')).toMatch(/not visible with these rights.*kubectl get namespace kube-system --show-labels/);
    expect(chain.links.find((l) => l.id === 'policy')!.status).toBe('not-visible');
  });

  it('a node whose data plane drops DNS: the pods on that node time out, the others answer', () => {
    const chain = walkDnsChain(evidence({ queries: [q('UDP', ok), q('TCP', ok), ...direct({ a: ok, b: timeout })] }));
    expect(chain.verdict.link).toBe('direct');
    expect(chain.verdict.owner).toBe('platform team');
    expect(chain.verdict.text).toMatch(/queries to the CoreDNS pod\(s\) on node-b fail from node-a .* while those on node-a answer and the policies admit DNS: the data plane on node-b drops DNS/);
    expect(chain.verdict.next).toBe('netcheck dns financial-ml --node node-b');
  });

  it('every pod answers directly but the Service path fails: the lookup link (kube-proxy)', () => {
    const chain = walkDnsChain(evidence({ queries: [q('UDP', timeout), q('TCP', timeout), ...direct({ a: ok, b: ok })] }));
    expect(chain.verdict.link).toBe('lookup');
    expect(chain.verdict.text).toMatch(/every CoreDNS pod answers directly but lookups through 10\.96\.0\.10 fail .*the Service path \(kube-proxy\) is broken/);
  });

  it('no nameserver Service: the kubelet points nowhere', () => {
    const chain = walkDnsChain(evidence({ resolv: { nameservers: ['10.96.0.99'], search: [], ndots: 5, options: [] }, queries: [q('UDP', timeout, 'resolv', '10.96.0.99')] }));
    expect(chain.verdict.link).toBe('service');
    expect(chain.verdict.text).toMatch(/no Service in kube-system has the pods’ nameserver 10\.96\.0\.99/);
  });

  it('with only namespace rights: the CoreDNS side says who to ask, and the verdict does not guess', () => {
    const hidden = { notVisible: 'forbidden: list pods in kube-system' };
    const chain = walkDnsChain(
      evidence({
        queries: [q('UDP', timeout), q('TCP', timeout)],
        facts: { namespace: 'kube-system', services: { notVisible: 'forbidden: list services in kube-system' }, endpoints: { notVisible: 'forbidden' }, pods: hidden, deployments: hidden },
      }),
    );
    const coredns = chain.links.find((l) => l.id === 'coredns')!;
    expect(coredns.status).toBe('not-visible');
    expect(coredns.evidence[0]).toBe(
      'the CoreDNS pods not visible with these rights (forbidden: list pods in kube-system): ask the platform team to run `kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide`',
    );
    expect(chain.verdict.status).toBe('undecided');
    expect(chain.verdict.text).toMatch(/not visible with these rights/);
  });

  it('a name that does not exist while the canary resolves: DNS answered, the name is missing', () => {
    const chain = walkDnsChain(evidence({ queries: [q('UDP', ok), q('TCP', ok), { name: 'nosuch.financial-ml', protocol: 'UDP', server: '10.96.0.10', via: 'resolv', outcome: { kind: 'dns-nxdomain' } }] }));
    expect(chain.verdict.status).toBe('healthy');
    expect(chain.verdict.text).toMatch(/nosuch\.financial-ml does not exist \(NXDOMAIN: DNS answered\)/);
    expect(chain.verdict.owner).toBe('application team');
  });
});

describe('dnsChainFindings: one run finding per distinct verdict', () => {
  const noEndpoints = (source: string, namespace: string, node: string) =>
    walkDnsChain(
      evidence({
        source: { namespace, labels: { app: source }, node, description: source },
        queries: [q('UDP', timeout), q('TCP', refused), ...direct({ a: ok, b: ok })],
        facts: facts({ services: [{ namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', selector: { 'k8s-app': 'kube-dnsx' } }], endpoints: { 'kube-dns': [] } }),
      }),
    );
  const cellsOf = (source: string, node: string) => [{ source, target: 'cluster-dns', node }, { source, target: 'predictor', node }];

  it('the same verdict from every source and node is one finding naming them all, with every cell', () => {
    const walked = [
      { chain: noEndpoints('serving', 'financial-ml', 'node-a'), cells: cellsOf('serving', 'node-a') },
      { chain: noEndpoints('outsider', 'default', 'node-b'), cells: cellsOf('outsider', 'node-b') },
      { chain: noEndpoints('serving', 'financial-ml', 'node-b'), cells: cellsOf('serving', 'node-b') },
    ];
    const findings = dnsChainFindings(walked, [{ source: 'training', target: 'cluster-dns', node: 'node-a' }]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'dns-chain', owner: 'platform team', next: 'kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns' });
    expect(findings[0]!.text).toBe(
      'DNS chain from outsider, serving on node-a, node-b: broken at service — Service kube-system/kube-dns has no endpoints (its selector k8s-app=kube-dnsx matches no pod; CoreDNS pods with labels k8s-app=kube-dns exist: 2 ready)',
    );
    // The cluster-wide link breaks the lookups of the source beyond the walk's cap too.
    expect(findings[0]!.cells).toEqual([...cellsOf('serving', 'node-a'), ...cellsOf('outsider', 'node-b'), ...cellsOf('serving', 'node-b'), { source: 'training', target: 'cluster-dns', node: 'node-a' }]);
  });

  it('different verdicts stay apart, one chain keeps its own wording, and unwalked cells are nobody\'s', () => {
    const policy = walkDnsChain(evidence({ queries: [q('UDP', ok), q('TCP', refused), ...direct({ a: ok, b: ok })], snapshot: snapshot([dnsEgress('allow-dns', ['UDP'])]) }));
    const findings = dnsChainFindings(
      [
        { chain: noEndpoints('serving', 'financial-ml', 'node-a'), cells: cellsOf('serving', 'node-a') },
        { chain: policy, cells: cellsOf('training', 'node-a') },
      ],
      [{ source: 'seldon', target: 'cluster-dns', node: 'node-a' }],
    );
    expect(findings.map((f) => f.text.split(': broken at ')[0])).toEqual(['DNS chain from serving on node-a', 'DNS chain from financial-ml on node-a']);
    expect(findings.flatMap((f) => f.cells).map((c) => c.source)).not.toContain('seldon');
  });
});
