/**
 * AdminNetworkPolicy / BaselineAdminNetworkPolicy, modelled on the network-policy-api user stories and their
 * sample specs (kubernetes-sigs/network-policy-api, site-src/user-stories.md and site-src/reference/examples.md,
 * v1alpha1): story 1 "Deny traffic at a cluster level", story 2 "Allow traffic at a cluster level", story 3
 * "Explicitly Delegate traffic to existing K8s Network Policy" (Pass), story 5 "Cluster Wide Default Guardrails"
 * (the baseline). The manifests are ours, shaped like those samples; expectations follow the API's own text
 * (apis/v1alpha1/*_types.go), cited per case.
 */
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/model/errors.js';
import { analyzeSnapshot } from '../../src/policy/analyze.js';
import { createPolicyEngine, describeFlow, type PolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import { expectMatrixAgrees } from './builders.js';
import type { ClusterSnapshot, Endpoint, FlowVerdict, PodInfo } from '../../src/policy/types.js';

const NAMESPACES = ['sensitive-ns', 'monitoring-ns', 'kube-system', 'foo-ns-1', 'bar-ns-1'];

/** One pod per namespace (plus kube-dns and svc-pub), each listening on 8080/TCP and 53/UDP. */
function platform(): string {
  const docs = NAMESPACES.map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`);
  const pod = (ns: string, name: string, app: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}, labels: {app: ${app}}}\n` +
    'spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}, {containerPort: 53, protocol: UDP, name: dns}]}]}';
  docs.push(pod('sensitive-ns', 'vault', 'vault'), pod('monitoring-ns', 'prometheus', 'prometheus'), pod('kube-system', 'coredns', 'kube-dns'));
  docs.push(pod('foo-ns-1', 'client', 'client'), pod('bar-ns-1', 'svc-pub', 'svc-pub'), pod('bar-ns-1', 'other', 'other'));
  return docs.join('\n---\n');
}

function load(...policies: string[]): { snapshot: ClusterSnapshot; engine: PolicyEngine } {
  const { snapshot } = snapshotFromManifestFiles([
    { path: 'platform.yaml', text: platform() },
    { path: 'policies.yaml', text: policies.join('\n---\n') },
  ]);
  return { snapshot, engine: createPolicyEngine(snapshot) };
}

function podOf(engine: PolicyEngine, key: string): PodInfo {
  const [ns, name] = key.split('/') as [string, string];
  const p = engine.findPod(ns, name);
  if (!p) throw new Error(`no pod ${key}`);
  return p;
}

function flow(engine: PolicyEngine, from: string, to: string, port: number | string = 8080, protocol: 'TCP' | 'UDP' = 'TCP'): FlowVerdict {
  return engine.evaluateFlow({ kind: 'pod', pod: podOf(engine, from) }, { kind: 'pod', pod: podOf(engine, to) }, port, protocol);
}

// Story 1 sample: priority 10, subject sensitive-ns, ingress Deny from every namespace.
const STORY_1 = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cluster-wide-deny-example}
spec:
  priority: 10
  subject:
    namespaces:
      matchLabels: {kubernetes.io/metadata.name: sensitive-ns}
  ingress:
  - name: select-all-deny-all
    action: Deny
    from:
    - namespaces: {}`;

// Story 2 sample: priority 30, every namespace; ingress Allow from monitoring-ns, egress Allow to kube-dns.
const STORY_2 = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: cluster-wide-allow-example}
spec:
  priority: 30
  subject:
    namespaces: {}
  ingress:
  - name: allow-monitoring-ns-ingress
    action: Allow
    from:
    - namespaces:
        matchLabels: {kubernetes.io/metadata.name: monitoring-ns}
  egress:
  - name: allow-kube-dns-egress
    action: Allow
    to:
    - pods:
        namespaceSelector:
          matchLabels: {kubernetes.io/metadata.name: kube-system}
        podSelector:
          matchLabels: {app: kube-dns}`;

// Story 3 sample: priority 20, every namespace; egress to bar-ns-1 app=svc-pub on TCP 8080 is passed to NetworkPolicies.
const STORY_3 = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pub-svc-delegate-example}
spec:
  priority: 20
  subject:
    namespaces: {}
  egress:
  - action: Pass
    to:
    - pods:
        namespaceSelector:
          matchLabels: {kubernetes.io/metadata.name: bar-ns-1}
        podSelector:
          matchLabels: {app: svc-pub}
    ports:
    - portNumber: {protocol: TCP, port: 8080}`;

// Story 5 sample: the baseline denies ingress from every namespace to every namespace.
const STORY_5 = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject:
    namespaces: {}
  ingress:
  - name: default-deny
    action: Deny
    from:
    - namespaces: {}`;

/** A NetworkPolicy in bar-ns-1 that admits ingress from foo-ns-1 only. */
const NP_BAR_FROM_FOO = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-foo, namespace: bar-ns-1}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: foo-ns-1}`;

/** A NetworkPolicy denying all egress of foo-ns-1. */
const NP_FOO_DENY_EGRESS = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: foo-ns-1}
spec:
  podSelector: {}
  policyTypes: [Egress]`;

describe('AdminNetworkPolicy: the user stories of the network-policy-api', () => {
  it('story 1: Deny from every namespace isolates sensitive-ns, and a NetworkPolicy cannot re-open it', () => {
    // "AdminNetworkPolicyRuleActionDeny ... Pods will never receive traffic which has been matched by a Deny rule".
    const allowAll = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-all, namespace: sensitive-ns}\nspec:\n  podSelector: {}\n  ingress: [{}]`;
    const { engine } = load(STORY_1, allowAll);
    const v = flow(engine, 'monitoring-ns/prometheus', 'sensitive-ns/vault');
    expect(v.allowed).toBe(false);
    expect(v.ingress.reason).toBe('admin-policy');
    expect(v.ingress.decidedBy?.text).toBe("AdminNetworkPolicy cluster-wide-deny-example (priority 10) ingress[0] 'select-all-deny-all': Deny");
    expect(v.ingress.isolatedBy).toEqual(['sensitive-ns/allow-all']);
    // Egress of sensitive-ns is not a subject of the policy (no egress rules): untouched.
    expect(flow(engine, 'sensitive-ns/vault', 'monitoring-ns/prometheus').allowed).toBe(true);
    expectMatrixAgrees(engine, 8080);
  });

  it('story 2: Allow wins over a NetworkPolicy that denies, in each direction', () => {
    // "Allow: allows the selected traffic (even if it would otherwise have been denied by NetworkPolicy)".
    const { engine } = load(STORY_2, NP_FOO_DENY_EGRESS, NP_BAR_FROM_FOO);
    const dns = flow(engine, 'foo-ns-1/client', 'kube-system/coredns', 53, 'UDP');
    expect(dns.allowed).toBe(true);
    expect(dns.egress).toMatchObject({ reason: 'admin-policy', allowed: true, isolatedBy: ['foo-ns-1/deny-egress'] });
    expect(dns.egress.decidedBy?.text).toBe("AdminNetworkPolicy cluster-wide-allow-example (priority 30) egress[0] 'allow-kube-dns-egress': Allow");
    // monitoring-ns -> bar-ns-1: the NetworkPolicy admits only foo-ns-1, the ANP allows monitoring anyway.
    const scrape = flow(engine, 'monitoring-ns/prometheus', 'bar-ns-1/other');
    expect(scrape.allowed).toBe(true);
    expect(scrape.ingress.reason).toBe('admin-policy');
    // Without the ANP the same flow is denied by the NetworkPolicy.
    expect(flow(load(NP_BAR_FROM_FOO).engine, 'monitoring-ns/prometheus', 'bar-ns-1/other').allowed).toBe(false);
    // Traffic the ANP does not match goes to the NetworkPolicies: foo-ns-1's egress is still denied elsewhere.
    const other = flow(engine, 'foo-ns-1/client', 'bar-ns-1/other');
    expect(other.egress).toMatchObject({ reason: 'no-matching-rule', allowed: false });
    expectMatrixAgrees(engine, 8080);
    expectMatrixAgrees(engine, 53, 'UDP');
  });

  it('the lower priority number decides first; rules of one policy in order', () => {
    // "Rules with lower priority values have higher precedence, and are checked before rules with higher priority values";
    // "a rule that appears at the top of the ingress rules would take the highest precedence".
    const denyMonitoring = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-monitoring}
spec:
  priority: 40
  subject: {namespaces: {}}
  ingress:
  - {name: deny-prometheus, action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: monitoring-ns}}}]}`;
    expect(flow(load(STORY_2, denyMonitoring).engine, 'monitoring-ns/prometheus', 'bar-ns-1/other').allowed).toBe(true);
    const denyFirst = denyMonitoring.replace('priority: 40', 'priority: 5');
    const v = flow(load(STORY_2, denyFirst).engine, 'monitoring-ns/prometheus', 'bar-ns-1/other');
    expect(v.allowed).toBe(false);
    expect(v.ingress.decidedBy?.policy).toBe('deny-monitoring');
    const twoRules = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: ordered}
spec:
  priority: 1
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: bar-ns-1}}}
  ingress:
  - {name: allow-8080, action: Allow, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 8080}}]}
  - {name: deny-rest, action: Deny, from: [{namespaces: {}}]}`;
    const { engine } = load(twoRules);
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/other', 8080).ingress.decidedBy?.ruleName).toBe('allow-8080');
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/other', 53, 'UDP')).toMatchObject({ allowed: false });
    expectMatrixAgrees(engine, 8080);
    expectMatrixAgrees(engine, 53, 'UDP');
  });

  it('story 3: Pass hands the flow to NetworkPolicies; with none, it is allowed', () => {
    // "Pass: instructs the selected traffic to skip any remaining ANP rules, and then pass execution to any
    // NetworkPolicies that select the pod"; user story 3: "If no k8s network policies touch the delegated traffic
    // the traffic will be allowed."
    const denyAllEgress = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-all-egress}
spec:
  priority: 100
  subject: {namespaces: {}}
  egress:
  - {name: deny-all, action: Deny, to: [{namespaces: {}}]}`;
    const open = load(STORY_3, denyAllEgress).engine;
    const passed = flow(open, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 8080);
    expect(passed.allowed).toBe(true);
    expect(passed.egress.reason).toBe('not-isolated');
    expect(passed.egress.passedBy?.text).toBe('AdminNetworkPolicy pub-svc-delegate-example (priority 20) egress[0]: Pass');
    // Not the delegated port or pod: the lower-priority Deny applies.
    expect(flow(open, 'foo-ns-1/client', 'bar-ns-1/other', 8080).egress.decidedBy?.policy).toBe('deny-all-egress');
    expect(flow(open, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 53, 'UDP').allowed).toBe(false);
    // With a NetworkPolicy isolating foo-ns-1's egress, the passed flow is the NetworkPolicy's to decide: denied.
    const closed = load(STORY_3, denyAllEgress, NP_FOO_DENY_EGRESS).engine;
    const v = flow(closed, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 8080);
    expect(v.egress).toMatchObject({ reason: 'no-matching-rule', allowed: false, isolatedBy: ['foo-ns-1/deny-egress'] });
    expect(describeFlow(v, { kind: 'pod', pod: podOf(closed, 'foo-ns-1/client') }, { kind: 'pod', pod: podOf(closed, 'bar-ns-1/svc-pub') })).toContain(
      '    (AdminNetworkPolicy pub-svc-delegate-example (priority 20) egress[0]: Pass: passed on to NetworkPolicies and the baseline)',
    );
    expectMatrixAgrees(open, 8080);
    expectMatrixAgrees(closed, 8080);
  });

  it('story 5: the baseline decides only where no NetworkPolicy isolates the pod', () => {
    // BaselineAdminNetworkPolicySpec.Ingress: "applied to the selected pods if they are not matched by any
    // AdminNetworkPolicy or NetworkPolicy rules".
    const { engine } = load(STORY_5, NP_BAR_FROM_FOO);
    const guarded = flow(engine, 'foo-ns-1/client', 'monitoring-ns/prometheus');
    expect(guarded.allowed).toBe(false);
    expect(guarded.ingress.decidedBy?.text).toBe("BaselineAdminNetworkPolicy default ingress[0] 'default-deny': Deny");
    // bar-ns-1 has a NetworkPolicy: it, not the baseline, decides (admits foo-ns-1, denies the rest).
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/other')).toMatchObject({ allowed: true, ingress: { reason: 'admitted' } });
    expect(flow(engine, 'monitoring-ns/prometheus', 'bar-ns-1/other')).toMatchObject({ allowed: false, ingress: { reason: 'no-matching-rule' } });
    // An ANP Allow is above the baseline.
    expect(flow(load(STORY_5, STORY_2).engine, 'monitoring-ns/prometheus', 'foo-ns-1/client').allowed).toBe(true);
    expectMatrixAgrees(engine, 8080);
  });

  it('ports: portRange, namedPort (the destination\'s container port), and no ports = every port', () => {
    const ports = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: ports}
spec:
  priority: 3
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: svc-pub}}}}
  ingress:
  - {name: range, action: Deny, from: [{namespaces: {}}], ports: [{portRange: {protocol: TCP, start: 8000, end: 8079}}]}
  - {name: named, action: Deny, from: [{namespaces: {}}], ports: [{namedPort: dns}]}`;
    const { engine } = load(ports);
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 8079).allowed).toBe(false);
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 8080).allowed).toBe(true);
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 53, 'UDP').ingress.decidedBy?.ruleName).toBe('named');
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 53, 'TCP').allowed).toBe(true); // dns is UDP only
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/other', 8079).allowed).toBe(true); // not a subject
    expectMatrixAgrees(engine, 8079);
    expectMatrixAgrees(engine, 53, 'UDP');
  });

  it('networks (egress) match addresses outside the cluster and pod IPs alike', () => {
    // AdminNetworkPolicyEgressPeer.Networks: "cluster-internal traffic will be checked against the rule as well".
    const networks = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: network-as-egress-peer}
spec:
  priority: 70
  subject: {namespaces: {}}
  egress:
  - name: deny-egress-to-external-dns-servers
    action: Deny
    to: [{networks: [8.8.8.8/32, 10.0.0.0/24]}]
    ports: [{portNumber: {protocol: UDP, port: 53}}]`;
    const { snapshot } = load(networks);
    const withIp: ClusterSnapshot = { ...snapshot, pods: snapshot.pods.map((p) => (p.name === 'coredns' ? { ...p, ip: '10.0.0.10' } : p)) };
    const engine = createPolicyEngine(withIp);
    const client: Endpoint = { kind: 'pod', pod: podOf(engine, 'foo-ns-1/client') };
    expect(engine.evaluateFlow(client, { kind: 'address', ip: '8.8.8.8' }, 53, 'UDP').allowed).toBe(false);
    expect(engine.evaluateFlow(client, { kind: 'address', ip: '8.8.4.4' }, 53, 'UDP').allowed).toBe(true);
    expect(engine.evaluateFlow(client, { kind: 'address', ip: '8.8.8.8' }, 443).allowed).toBe(true);
    expect(flow(engine, 'foo-ns-1/client', 'kube-system/coredns', 53, 'UDP').egress.decidedBy?.ruleName).toBe('deny-egress-to-external-dns-servers');
    expectMatrixAgrees(engine, 53, 'UDP');
  });

  it('analyze: the matrix and the JSON cells show the deciding rule', () => {
    const { snapshot } = load(STORY_1);
    const analysis = analyzeSnapshot(snapshot, { port: 8080, explain: true });
    const cell = analysis.cells.find((c) => c.from === 'foo-ns-1/client' && c.to === 'sensitive-ns/vault');
    expect(cell).toMatchObject({ allowed: false, ingress: { reason: 'admin-policy', decidedBy: "AdminNetworkPolicy cluster-wide-deny-example (priority 10) ingress[0] 'select-all-deny-all': Deny" } });
    const into = analysis.cells.filter((c) => c.to === 'sensitive-ns/vault' && c.from !== c.to);
    expect(into.every((c) => !c.allowed)).toBe(true);
    // Pods of sensitive-ns itself match `namespaces: {}` too, so even self traffic is denied by the rule.
    expect(analysis.cells.find((c) => c.from === 'sensitive-ns/vault' && c.to === 'sensitive-ns/vault')?.allowed).toBe(false);
  });
});

describe('AdminNetworkPolicy manifests', () => {
  const cases: Array<{ name: string; text: string; message: RegExp }> = [
    {
      name: 'a Pass in the baseline',
      text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n  ingress:\n  - {action: Pass, from: [{namespaces: {}}]}\n',
      message: /^p\.yaml:7:\d+: BaselineAdminNetworkPolicy: spec\.ingress\[0\]\.action: must be Allow, Deny for a BaselineAdminNetworkPolicy, got "Pass"/,
    },
    {
      name: 'no priority',
      text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  subject: {namespaces: {}}\n',
      message: /AdminNetworkPolicy: spec\.priority: is required/,
    },
    {
      name: 'an ingress peer with networks',
      text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{networks: [10.0.0.0/8]}]}\n',
      message: /spec\.ingress\[0\]\.from\[0\]\.networks: unknown field; expected one of namespaces, pods/,
    },
    {
      name: 'an early v1alpha1 selector field (sameLabels) is refused, not read as "all namespaces"',
      text: 'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {sameLabels: [tenant]}}]}\n',
      message: /spec\.ingress\[0\]\.from\[0\]\.namespaces\.sameLabels: is not a field of a label selector/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let error: unknown;
      try {
        snapshotFromManifestFiles([{ path: 'p.yaml', text: c.text }]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ScenarioError);
      expect((error as Error).message).toMatch(c.message);
    });
  }

  it('ANPs and the baseline are read into the snapshot (typed lists too), sorted by priority, not skipped', () => {
    const list = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicyList
items:
- metadata: {name: late}
  spec: {priority: 90, subject: {namespaces: {}}}
- metadata: {name: early}
  spec: {priority: 9, subject: {namespaces: {}}}`;
    const { snapshot, skipped } = snapshotFromManifestFiles([{ path: 'l.yaml', text: `${list}\n---\n${STORY_5}` }]);
    expect(skipped).toEqual({});
    expect(snapshot.adminPolicies?.map((p) => `${p.kind}/${p.name}`)).toEqual(['AdminNetworkPolicy/early', 'AdminNetworkPolicy/late', 'BaselineAdminNetworkPolicy/default']);
  });
});

describe('AdminNetworkPolicy `nodes` egress peers: matched by the nodes\' addresses', () => {
  // The API's egress-to-nodes example: deny pods egress to the control plane's nodes, allow them to workers.
  const DENY_CONTROL_PLANE = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-control-plane}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: foo-ns-1}}}
  egress:
    - {name: deny-cp, action: Deny, to: [{nodes: {matchExpressions: [{key: node-role.kubernetes.io/control-plane, operator: Exists}]}}]}`;
  const withNodes = () => {
    const { snapshot } = load(DENY_CONTROL_PLANE);
    snapshot.nodes = [
      { name: 'cp-1', labels: { 'node-role.kubernetes.io/control-plane': '' }, addresses: ['172.30.0.2'] },
      { name: 'worker-1', labels: {}, addresses: ['172.30.0.10'] },
    ];
    return createPolicyEngine(snapshot);
  };
  const toAddress = (engine: PolicyEngine, ip: string) => engine.evaluateFlow({ kind: 'pod', pod: podOf(engine, 'foo-ns-1/client') }, { kind: 'address', ip }, 6443, 'TCP');

  it('denies egress to an address of a selected node, naming the rule', () => {
    const engine = withNodes();
    const verdict = toAddress(engine, '172.30.0.2');
    expect(verdict.egress.allowed).toBe(false);
    expect(verdict.egress.decidedBy?.text).toMatch(/AdminNetworkPolicy no-control-plane \(priority 5\) egress\[0\] 'deny-cp': Deny/);
  });
  it('leaves other nodes, other addresses and pods alone', () => {
    const engine = withNodes();
    expect(toAddress(engine, '172.30.0.10').egress.allowed).toBe(true);
    expect(toAddress(engine, '203.0.113.9').egress.allowed).toBe(true);
    expect(flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub').egress.allowed).toBe(true);
  });
  it('from manifests, which hold no node addresses, matches nothing', () => {
    const { engine } = load(DENY_CONTROL_PLANE);
    expect(toAddress(engine, '172.30.0.2').egress.allowed).toBe(true);
  });
});
