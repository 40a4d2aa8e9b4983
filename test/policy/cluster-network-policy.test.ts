/**
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2), checked against the API's own examples: no enforcer that
 * runs here implements it (kube-router and Calico v3.28 do not), so the oracle is the API's text and the verdicts its
 * conformance suite expects. Pinned: sigs.k8s.io/network-policy-api v0.3.0.
 * - User stories: site-src/user-stories.md and the objects it embeds, site-src/user-story-examples/user-story-1,2,3,5.yaml
 *   (v1alpha2; quoted below as published).
 * - Conformance: conformance/tests/*.go with conformance/base/** (v0.3.0 writes them as v1beta1, whose schema is the
 *   v1alpha2 one, CHANGELOG.md v0.3.0; here they are v1alpha2, except one read as v1beta1). The namespaces and
 *   workloads are shaped like conformance/base/manifests.yaml (houses gryffindor, slytherin, hufflepuff, ravenclaw
 *   with one StatefulSet each, serving TCP 80 and 8080, UDP 53 and 5353, SCTP 9003), without their images.
 */
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/model/errors.js';
import { analyzeSnapshot } from '../../src/policy/analyze.js';
import { lintSnapshot } from '../../src/policy/lint.js';
import { createPolicyEngine, describeFlow, type PolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import { expectMatrixAgrees } from './builders.js';
import type { Endpoint, FlowVerdict, PodInfo, Protocol } from '../../src/policy/types.js';

// ---- user stories: a small platform with the namespaces the stories name ----

const STORY_NAMESPACES = ['sensitive-ns', 'monitoring-ns', 'kube-system', 'foo-ns-1', 'bar-ns-1'];
function storyPlatform(): string {
  const docs = STORY_NAMESPACES.map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`);
  const pod = (ns: string, name: string, app: string): string =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}, labels: {app: ${app}}}\n` +
    'spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}, {containerPort: 8081, name: web-alt}, {containerPort: 53, protocol: UDP, name: dns}]}]}';
  docs.push(pod('sensitive-ns', 'vault', 'vault'), pod('monitoring-ns', 'prometheus', 'prometheus'), pod('kube-system', 'coredns', 'kube-dns'));
  docs.push(pod('foo-ns-1', 'client', 'client'), pod('bar-ns-1', 'svc-pub', 'svc-pub'), pod('bar-ns-1', 'other', 'other'));
  return docs.join('\n---\n');
}

const USER_STORY_1 = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: cluster-wide-deny-example
spec:
  tier: Admin
  priority: 10
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: sensitive-ns
  ingress:
    - action: Deny
      from:
      - namespaces:
          matchLabels: {} # Match all namespaces.
      name: select-all-deny-all`;

const USER_STORY_2 = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: cluster-wide-allow-example
spec:
  tier: Admin
  priority: 30
  subject:
    namespaces: {}
  ingress:
    - action: Accept
      name: allow-monitoring-ns-ingress
      from:
      - namespaces:
          matchLabels:
            kubernetes.io/metadata.name: monitoring-ns
  egress:
  - action: Accept
    name: allow-kube-dns-egress
    to:
    - pods:
        namespaceSelector:
          matchLabels:
            kubernetes.io/metadata.name: kube-system
        podSelector:
          matchLabels:
            app: kube-dns`;

const USER_STORY_3 = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: pub-svc-delegate-example
spec:
  tier: Admin
  priority: 20
  subject:
    namespaces: {}
  egress:
  - action: Pass # to be handled by NetworkPolicy.
    to:
    - pods:
        namespaceSelector:
          matchLabels:
            kubernetes.io/metadata.name: bar-ns-1
        podSelector:
          matchLabels:
            app: svc-pub
    protocols:
    - tcp:
        destinationPort:
          number: 8080
    - destinationNamedPort: "web-alt"
    - udp:
        destinationPort:
          number: 53`;

const USER_STORY_5 = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: default
spec:
  tier: Baseline
  priority: 10
  subject:
    namespaces: {}
  ingress:
    - action: Deny   # zero-trust cluster default security posture
      from:
      - namespaces: {}`;

function load(platform: string, ...docs: string[]): PolicyEngine {
  const { snapshot } = snapshotFromManifestFiles([
    { path: 'platform.yaml', text: platform },
    { path: 'policies.yaml', text: docs.join('\n---\n') },
  ]);
  return createPolicyEngine(snapshot);
}

function at(engine: PolicyEngine, key: string): Endpoint {
  const [ns, name] = key.split('/') as [string, string];
  const pod = engine.findPod(ns, name) as PodInfo;
  expect(pod, key).toBeDefined();
  return { kind: 'pod', pod };
}

function flow(engine: PolicyEngine, from: string, to: string, port: number | string = 8080, protocol: Protocol = 'TCP'): FlowVerdict {
  return engine.evaluateFlow(at(engine, from), at(engine, to), port, protocol);
}

const DENY_ALL_NP = (ns: string): string =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: ${ns}}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}`;

describe('ClusterNetworkPolicy: the user stories (site-src/user-stories.md, v0.3.0)', () => {
  const platform = storyPlatform();

  it('story 1: the Admin tier denies sensitive-ns ingress from every namespace; explanations name the CNP, tier, priority, rule and action', () => {
    const engine = load(platform, USER_STORY_1, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-in, namespace: sensitive-ns}
spec: {podSelector: {}, ingress: [{}]}`);
    const v = flow(engine, 'monitoring-ns/prometheus', 'sensitive-ns/vault');
    expect(v.allowed).toBe(false);
    expect(v.ingress.decidedBy?.text).toBe("ClusterNetworkPolicy cluster-wide-deny-example (tier Admin, priority 10) ingress[0] 'select-all-deny-all': Deny");
    expect(v.ingress.decidedBy).toMatchObject({ kind: 'ClusterNetworkPolicy', tier: 'Admin', priority: 10, ruleName: 'select-all-deny-all', action: 'Deny' });
    const lines = describeFlow(v, at(engine, 'monitoring-ns/prometheus'), at(engine, 'sensitive-ns/vault'));
    expect(lines).toContain("  ingress to sensitive-ns/vault: DENIED by ClusterNetworkPolicy cluster-wide-deny-example (tier Admin, priority 10) ingress[0] 'select-all-deny-all': Deny");
    expect(lines).toContain('    (the Admin tier takes precedence over NetworkPolicies; sensitive-ns/allow-all-in not consulted)');
    expect(flow(engine, 'sensitive-ns/vault', 'monitoring-ns/prometheus').allowed).toBe(true); // egress is not its business
    expectMatrixAgrees(engine, 8080);
  });

  it('story 2: Accept wins over NetworkPolicies that deny all, in each direction, and only for what it names', () => {
    const engine = load(platform, USER_STORY_2, DENY_ALL_NP('foo-ns-1'));
    const dns = flow(engine, 'foo-ns-1/client', 'kube-system/coredns', 53, 'UDP');
    expect(dns.allowed).toBe(true);
    expect(dns.egress.decidedBy?.text).toBe("ClusterNetworkPolicy cluster-wide-allow-example (tier Admin, priority 30) egress[0] 'allow-kube-dns-egress': Accept");
    expect(flow(engine, 'monitoring-ns/prometheus', 'foo-ns-1/client').ingress.decidedBy?.ruleName).toBe('allow-monitoring-ns-ingress');
    expect(flow(engine, 'monitoring-ns/prometheus', 'foo-ns-1/client').allowed).toBe(true);
    const other = flow(engine, 'foo-ns-1/client', 'bar-ns-1/other');
    expect(other.allowed).toBe(false);
    expect(other.egress.reason).toBe('no-matching-rule');
    expectMatrixAgrees(engine, 53, 'UDP');
    expectMatrixAgrees(engine, 8080);
  });

  it('story 3: Pass delegates svc-pub on TCP 8080, the named port web-alt and UDP 53 to NetworkPolicies; other ports are not delegated', () => {
    const denyEgress = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-egress, namespace: foo-ns-1}\nspec: {podSelector: {}, policyTypes: [Egress]}`;
    const engine = load(platform, USER_STORY_3, denyEgress);
    for (const [port, protocol] of [[8080, 'TCP'], ['web-alt', 'TCP'], [53, 'UDP']] as const) {
      const v = flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub', port, protocol);
      expect(v.egress.passedBy?.text, String(port)).toBe('ClusterNetworkPolicy pub-svc-delegate-example (tier Admin, priority 20) egress[0]: Pass');
      expect(v.allowed, String(port)).toBe(false); // the NetworkPolicy denies it
    }
    const notNamed = flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub', 8082);
    expect(notNamed.egress.passedBy).toBeUndefined();
    // Without NetworkPolicies the delegated traffic is allowed ("If no k8s network policies match ... allowed").
    expect(flow(load(platform, USER_STORY_3), 'foo-ns-1/client', 'bar-ns-1/svc-pub').allowed).toBe(true);
    expectMatrixAgrees(engine, 8080);
  });

  it('story 5: the Baseline tier denies ingress wherever no NetworkPolicy selects the pod; a NetworkPolicy overrides it', () => {
    const allowIn = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-from-foo, namespace: bar-ns-1}\nspec:\n  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: foo-ns-1}}}]}]`;
    const engine = load(platform, USER_STORY_5, allowIn);
    const denied = flow(engine, 'foo-ns-1/client', 'sensitive-ns/vault');
    expect(denied.allowed).toBe(false);
    expect(denied.ingress.decidedBy?.text).toBe('ClusterNetworkPolicy default (tier Baseline, priority 10) ingress[0]: Deny');
    expect(describeFlow(denied, at(engine, 'foo-ns-1/client'), at(engine, 'sensitive-ns/vault'))).toContain('    (the Baseline tier decides where the Admin tier did not and no NetworkPolicy isolates the pod)');
    const overridden = flow(engine, 'foo-ns-1/client', 'bar-ns-1/svc-pub');
    expect(overridden.allowed).toBe(true);
    expect(overridden.ingress.reason).toBe('admitted');
    expectMatrixAgrees(engine, 8080);
  });
});

// ---- conformance: the houses ----

const HOUSES = ['gryffindor', 'slytherin', 'hufflepuff', 'ravenclaw'];
const WORKLOAD = { gryffindor: 'harry-potter', slytherin: 'draco-malfoy', hufflepuff: 'cedric-diggory', ravenclaw: 'luna-lovegood' } as Record<string, string>;
function hogwarts(): string {
  return HOUSES.flatMap((h) => [
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: network-policy-conformance-${h}, labels: {conformance-house: ${h}}}`,
    `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ${WORKLOAD[h]}, namespace: network-policy-conformance-${h}}
spec:
  selector: {matchLabels: {conformance-house: ${h}}}
  replicas: 2
  template:
    metadata: {labels: {conformance-house: ${h}}}
    spec:
      containers:
      - {name: c80, ports: [{containerPort: 80, protocol: TCP, name: web}]}
      - {name: c8080, ports: [{containerPort: 8080, protocol: TCP}]}
      - {name: c53, ports: [{containerPort: 53, protocol: UDP, name: dns}]}
      - {name: c5353, ports: [{containerPort: 5353, protocol: UDP}]}
      - {name: c9003, ports: [{containerPort: 9003, protocol: SCTP}]}`,
  ]).join('\n---\n');
}
const house = (h: string): string => `network-policy-conformance-${h}/${WORKLOAD[h]}`;

// conformance/base/admin_tier/standard-egress-inline-cidr-rules.yaml
const INLINE_CIDR = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: inline-cidr-as-peers-example
spec:
  tier: Admin
  priority: 85
  subject:
    pods:
      namespaceSelector: {matchLabels: {conformance-house: gryffindor}}
      podSelector: {matchLabels: {conformance-house: gryffindor}}
  egress:
  - name: "allow-egress-to-slytherin"
    action: "Accept"
    to:
    - pods:
        namespaceSelector: {matchLabels: {conformance-house: slytherin}}
        podSelector: {matchLabels: {conformance-house: slytherin}}
  - name: "deny-egress-to-internet"
    action: "Deny"
    to:
    - networks:
        - 0.0.0.0/0
        - ::/0`;

// conformance/base/api_integration/standard-anp-np-banp.yaml, with the action the test sets ("Deny", or "Pass").
const integration = (action: 'Deny' | 'Pass', withNetworkPolicy: boolean): string[] => {
  const tierPolicy = (name: string, tier: string, a: string): string => `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: ${name}}
spec:
  tier: ${tier}
  priority: 10
  subject: {namespaces: {matchLabels: {conformance-house: gryffindor}}}
  ingress:
  - name: "deny-all-ingress-from-slytherin"
    action: "${a}"
    from: [{namespaces: {matchLabels: {conformance-house: slytherin}}}]
  egress:
  - name: "deny-all-egress-to-slytherin"
    action: "${a}"
    to: [{namespaces: {matchLabels: {conformance-house: slytherin}}}]`;
  const np = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-gress-from-to-slytherin-to-gryffindor, namespace: network-policy-conformance-gryffindor}
spec:
  podSelector:
  policyTypes: [Ingress, Egress]
  ingress: [{from: [{namespaceSelector: {matchLabels: {conformance-house: slytherin}}}]}]
  egress: [{to: [{namespaceSelector: {matchLabels: {conformance-house: slytherin}}}]}]`;
  return [tierPolicy('pass-example', 'Admin', action), ...(withNetworkPolicy ? [np] : []), tierPolicy('default', 'Baseline', 'Deny')];
};

describe('ClusterNetworkPolicy: the conformance suite\'s cases (conformance/tests, v0.3.0)', () => {
  const platform = hogwarts();

  it('CNPAdminTierEgressInlineCIDRPeers: Deny to 0.0.0.0/0 and ::/0 blocks pods without an address; the Accept above it wins for slytherin', () => {
    const engine = load(platform, INLINE_CIDR);
    for (const h of ['ravenclaw', 'hufflepuff']) {
      for (const [port, protocol] of [[80, 'TCP'], [53, 'UDP'], [9003, 'SCTP']] as const) {
        const v = flow(engine, house('gryffindor'), house(h), port, protocol);
        expect(v.allowed, `${h} ${port}`).toBe(false);
        expect(v.egress.decidedBy?.ruleName).toBe('deny-egress-to-internet');
      }
    }
    expect(flow(engine, house('gryffindor'), house('slytherin'), 80).egress.decidedBy?.ruleName).toBe('allow-egress-to-slytherin');
    expect(flow(engine, house('gryffindor'), house('slytherin'), 53, 'UDP').allowed).toBe(true);
    expect(flow(engine, house('gryffindor'), house('slytherin'), 9003, 'SCTP').allowed).toBe(true);
    expectMatrixAgrees(engine, 80);
  });

  it('CNPAdminTierEgressInlineCIDRPeers, second part: Accept to the pods\' own addresses first opens them again', () => {
    const { snapshot } = snapshotFromManifestFiles([{ path: 'p.yaml', text: platform }, { path: 'c.yaml', text: INLINE_CIDR.replace('  egress:\n', '  egress:\n  - name: "allow-egress-to-specific-podIPs"\n    action: "Accept"\n    to: [{networks: [10.244.1.7/32, 10.244.2.9/32]}]\n') }]);
    const ip = { 'luna-lovegood': '10.244.1.7', 'cedric-diggory': '10.244.2.9' } as Record<string, string>;
    const engine = createPolicyEngine({ ...snapshot, pods: snapshot.pods.map((p) => (ip[p.name] ? { ...p, ip: ip[p.name] } : p)) });
    expect(flow(engine, house('gryffindor'), house('ravenclaw'), 80).egress.decidedBy?.ruleName).toBe('allow-egress-to-specific-podIPs');
    expect(flow(engine, house('gryffindor'), house('hufflepuff'), 53, 'UDP').allowed).toBe(true);
    expect(flow(engine, house('gryffindor'), house('ravenclaw'), 80).dependsOn).toBeUndefined();
    // Without their addresses, the /32s make the verdict depend on them: unknown, not a silent Deny.
    const unsure = flow(load(platform, INLINE_CIDR.replace('  egress:\n', '  egress:\n  - name: "allow-egress-to-specific-podIPs"\n    action: "Accept"\n    to: [{networks: [10.244.1.7/32]}]\n')), house('gryffindor'), house('ravenclaw'), 80);
    expect(unsure.allowed).toBe(false);
    expect(unsure.dependsOn).toEqual([
      "ClusterNetworkPolicy inline-cidr-as-peers-example (tier Admin, priority 85) egress[0] 'allow-egress-to-specific-podIPs': Accept applies if the address of network-policy-conformance-ravenclaw/luna-lovegood is in 10.244.1.7/32, and the input gives no address for it (no status.podIP)",
    ]);
  });

  it('CNPAdminTierIntegration: Deny in the Admin tier; Pass hands the flow to the NetworkPolicy (allowed), or without it to the Baseline tier (denied)', () => {
    const denied = load(platform, ...integration('Deny', true));
    expect(flow(denied, house('slytherin'), house('gryffindor'), 80).ingress.decidedBy?.text).toBe("ClusterNetworkPolicy pass-example (tier Admin, priority 10) ingress[0] 'deny-all-ingress-from-slytherin': Deny");
    expect(flow(denied, house('gryffindor'), house('slytherin'), 80).allowed).toBe(false);
    const passed = load(platform, ...integration('Pass', true));
    const toNp = flow(passed, house('slytherin'), house('gryffindor'), 80);
    expect(toNp.allowed).toBe(true);
    expect(toNp.ingress.reason).toBe('admitted');
    expect(toNp.ingress.passedBy?.ruleName).toBe('deny-all-ingress-from-slytherin');
    expect(flow(passed, house('gryffindor'), house('slytherin'), 80).allowed).toBe(true);
    const baseline = load(platform, ...integration('Pass', false));
    const toBaseline = flow(baseline, house('slytherin'), house('gryffindor'), 80);
    expect(toBaseline.allowed).toBe(false);
    expect(toBaseline.ingress.decidedBy?.text).toBe("ClusterNetworkPolicy default (tier Baseline, priority 10) ingress[0] 'deny-all-ingress-from-slytherin': Deny");
    expect(flow(baseline, house('gryffindor'), house('slytherin'), 80).egress.decidedBy?.tier).toBe('Baseline');
    for (const e of [denied, passed, baseline]) expectMatrixAgrees(e, 80);
  });

  it('CNPAdminTierPriorityField: priority 50 Deny beats priority 60 Pass; at priority 40 the Pass goes first and the Baseline Accept decides', () => {
    const cnp = (name: string, tier: string, priority: number, action: string): string => `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: ${name}}
spec:
  tier: ${tier}
  priority: ${priority}
  subject:
    pods: {namespaceSelector: {matchLabels: {conformance-house: gryffindor}}, podSelector: {matchLabels: {conformance-house: gryffindor}}}
  ingress:
  - name: "${action.toLowerCase()}-all-ingress-from-slytherin"
    action: "${action}"
    from: [{pods: {namespaceSelector: {matchLabels: {conformance-house: slytherin}}, podSelector: {matchLabels: {conformance-house: slytherin}}}}]
  egress:
  - name: "${action.toLowerCase()}-all-egress-to-slytherin"
    action: "${action}"
    to: [{pods: {namespaceSelector: {matchLabels: {conformance-house: slytherin}}, podSelector: {matchLabels: {conformance-house: slytherin}}}}]`;
    const at60 = load(platform, cnp('priority-50-example', 'Admin', 50, 'Deny'), cnp('old-priority-60-new-priority-40-example', 'Admin', 60, 'Pass'), cnp('default', 'Baseline', 10, 'Accept'));
    for (const port of [80, 8080]) {
      expect(flow(at60, house('slytherin'), house('gryffindor'), port).ingress.decidedBy?.policy).toBe('priority-50-example');
      expect(flow(at60, house('gryffindor'), house('slytherin'), port).allowed).toBe(false);
    }
    const at40 = load(platform, cnp('priority-50-example', 'Admin', 50, 'Deny'), cnp('old-priority-60-new-priority-40-example', 'Admin', 40, 'Pass'), cnp('default', 'Baseline', 10, 'Accept'));
    const v = flow(at40, house('slytherin'), house('gryffindor'), 80);
    expect(v.allowed).toBe(true);
    expect(v.ingress.passedBy?.policy).toBe('old-priority-60-new-priority-40-example');
    expect(v.ingress.decidedBy?.text).toBe("ClusterNetworkPolicy default (tier Baseline, priority 10) ingress[0] 'accept-all-ingress-from-slytherin': Accept");
    expectMatrixAgrees(at40, 80);
  });

  it('CNPAdminTierPortRange (standard-port-range-rules-combined.yaml, egress): TCP 80-8080 to ravenclaw, UDP 53-5353 to hufflepuff, SCTP 9003-9005 to slytherin, then Deny', () => {
    const engine = load(platform, `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: port-range-rules}
spec:
  tier: Admin
  priority: 9
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: network-policy-conformance-gryffindor}}}
  egress:
  - name: "allow-to-ravenclaw-tcp-port-range"
    action: "Accept"
    to: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: network-policy-conformance-ravenclaw}}}]
    protocols: [{tcp: {destinationPort: {range: {start: 80, end: 8080}}}}]
  - name: "allow-to-hufflepuff-udp-port-range"
    action: "Accept"
    to: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: network-policy-conformance-hufflepuff}}}]
    protocols: [{udp: {destinationPort: {range: {start: 53, end: 5353}}}}]
  - name: "allow-to-slytherin-sctp-port-range"
    action: "Accept"
    to: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: network-policy-conformance-slytherin}}}]
    protocols: [{sctp: {destinationPort: {range: {start: 9003, end: 9005}}}}]
  - name: "deny-all-egress"
    action: "Deny"
    to: [{namespaces: {matchExpressions: [{key: conformance-house, operator: Exists}]}}]`);
    const g = house('gryffindor');
    expect(flow(engine, g, house('ravenclaw'), 80).allowed).toBe(true);
    expect(flow(engine, g, house('ravenclaw'), 8080).allowed).toBe(true);
    expect(flow(engine, g, house('ravenclaw'), 53, 'UDP').egress.decidedBy?.ruleName).toBe('deny-all-egress');
    expect(flow(engine, g, house('hufflepuff'), 5353, 'UDP').allowed).toBe(true);
    expect(flow(engine, g, house('hufflepuff'), 80).allowed).toBe(false);
    expect(flow(engine, g, house('slytherin'), 9003, 'SCTP').allowed).toBe(true);
    expect(flow(engine, g, house('slytherin'), 9002, 'SCTP').allowed).toBe(false);
    expectMatrixAgrees(engine, 8080);
  });
});

describe('ClusterNetworkPolicy beside v1alpha1 AdminNetworkPolicy / BaselineAdminNetworkPolicy (an upgrade)', () => {
  const platform = storyPlatform();
  const anp = (priority: number, action: string): string => `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: old-anp}
spec:
  priority: ${priority}
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: sensitive-ns}}}
  ingress: [{name: old, action: ${action}, from: [{namespaces: {}}]}]`;
  const banp = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress: [{name: old-baseline, action: Allow, from: [{namespaces: {}}]}]`;

  it('one Admin tier ordered by priority across both versions; at equal priority the ClusterNetworkPolicy first; explain says so', () => {
    const anpFirst = load(platform, USER_STORY_1, anp(5, 'Allow'));
    const v = flow(anpFirst, 'foo-ns-1/client', 'sensitive-ns/vault');
    expect(v.allowed).toBe(true);
    expect(v.ingress.decidedBy?.kind).toBe('AdminNetworkPolicy');
    const lines = describeFlow(v, at(anpFirst, 'foo-ns-1/client'), at(anpFirst, 'sensitive-ns/vault'));
    expect(lines.some((l) => l.includes('the API does not say how they order: netcheck orders each tier by priority across both'))).toBe(true);
    const tie = flow(load(platform, USER_STORY_1, anp(10, 'Allow')), 'foo-ns-1/client', 'sensitive-ns/vault');
    expect(tie.ingress.decidedBy?.kind).toBe('ClusterNetworkPolicy');
    expect(tie.allowed).toBe(false);
  });

  it('the BaselineAdminNetworkPolicy comes after every Baseline-tier ClusterNetworkPolicy', () => {
    const engine = load(platform, USER_STORY_5, banp);
    const v = flow(engine, 'foo-ns-1/client', 'bar-ns-1/other');
    expect(v.ingress.decidedBy?.text).toBe('ClusterNetworkPolicy default (tier Baseline, priority 10) ingress[0]: Deny');
    expect(v.ingress.decidedBy?.orderNote).toMatch(/BaselineAdminNetworkPolicy after every Baseline-tier ClusterNetworkPolicy/);
    expectMatrixAgrees(engine, 8080);
  });

  it('a Baseline-tier Pass skips the rest of the tier, the BaselineAdminNetworkPolicy included: allowed', () => {
    const pass = USER_STORY_5.replace('action: Deny', 'action: Pass');
    const deny = banp.replace('action: Allow', 'action: Deny');
    const v = flow(load(platform, pass, deny), 'foo-ns-1/client', 'bar-ns-1/other');
    expect(v.allowed).toBe(true);
    expect(v.ingress.reason).toBe('not-isolated');
    expect(v.ingress.passedBy?.tier).toBe('Baseline');
  });
});

describe('ClusterNetworkPolicy domainNames (egress, Accept only)', () => {
  const platform = storyPlatform();
  const fqdn = (names: string): string => `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: allow-my-service-egress}
spec:
  tier: Admin
  priority: 55
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: foo-ns-1}}}
  egress:
  - name: allow-to-my-service
    action: Accept
    to: [{domainNames: [${names}]}]
  - name: deny-rest
    action: Deny
    to: [{networks: [0.0.0.0/0]}]`;

  it('toward an address the verdict depends on DNS, which netcheck does not see: unknown, naming the rule', () => {
    const engine = load(platform, fqdn('my-service.com, "*.cloud-provider.io"'));
    const v = engine.evaluateFlow(at(engine, 'foo-ns-1/client'), { kind: 'address', ip: '203.0.113.9' }, 443);
    expect(v.allowed).toBe(false);
    expect(v.dependsOn).toEqual([
      "ClusterNetworkPolicy allow-my-service-egress (tier Admin, priority 55) egress[0] 'allow-to-my-service': Accept applies if 203.0.113.9 is an address of my-service.com, *.cloud-provider.io (domainNames match what DNS answers at run time, which netcheck does not see)",
    ]);
  });

  it('toward a pod, an external name does not match (NPEP-133); a cluster DNS name of pods may', () => {
    const external = flow(load(platform, fqdn('my-service.com')), 'foo-ns-1/client', 'bar-ns-1/other');
    expect(external.allowed).toBe(false);
    expect(external.dependsOn).toBeUndefined();
    const headless = flow(load(platform, fqdn('"*.bar-ns-1.svc.cluster.local"')), 'foo-ns-1/client', 'bar-ns-1/other');
    expect(headless.dependsOn?.[0]).toContain('bar-ns-1/other answers to *.bar-ns-1.svc.cluster.local in cluster DNS');
  });
});

describe('ClusterNetworkPolicy manifests: the API\'s validation, as one-line errors with file:line', () => {
  const rules = (n: number): string => Array.from({ length: n }, (_, i) => `  - {name: r${i}, action: Deny, from: [{namespaces: {}}]}`).join('\n');
  const cases: Array<{ name: string; text: string; message: RegExp }> = [
    { name: 'a 26th ingress rule', text: `apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n${rules(26)}\n`, message: /^p\.yaml:9:\d+: ClusterNetworkPolicy: spec\.ingress: has 26 items; at most 25 are allowed/ },
    { name: 'an unknown tier', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Override\n  priority: 1\n  subject: {namespaces: {}}\n', message: /spec\.tier: must be Admin or Baseline, got "Override"/ },
    { name: 'priority 1001', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1001\n  subject: {namespaces: {}}\n', message: /spec\.priority: priority 1001 is outside 0-1000/ },
    { name: 'v1alpha1 Allow', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - {action: Allow, from: [{namespaces: {}}]}\n', message: /spec\.ingress\[0\]\.action: must be Accept, Deny, Pass for a ClusterNetworkPolicy, got "Allow"/ },
    { name: 'networks on ingress', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{networks: [10.0.0.0/8]}]}\n', message: /spec\.ingress\[0\]\.from\[0\]\.networks: unknown field; expected one of namespaces, pods/ },
    { name: 'a CIDR with host bits', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - {action: Deny, to: [{networks: [10.1.2.3/8]}]}\n', message: /networks\[0\]: 10\.1\.2\.3\/8 has host bits set/ },
    { name: 'domainNames in a Deny rule', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - {action: Deny, to: [{domainNames: [example.com]}]}\n', message: /domainNames: is only supported for Accept rules, and this rule says Deny/ },
    { name: 'a named port toward networks', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - {action: Deny, to: [{networks: [10.0.0.0/8]}], protocols: [{destinationNamedPort: http}]}\n', message: /protocols: networks\/nodes\/domainNames peer cannot be set with namedPorts/ },
    { name: 'a range with start = end', text: 'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: a}\nspec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n  egress:\n  - {action: Deny, to: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {range: {start: 80, end: 80}}}}]}\n', message: /range: start 80 must be less than end 80/ },
  ];
  it.each(cases)('$name', ({ text, message }) => {
    let error: unknown;
    try {
      snapshotFromManifestFiles([{ path: 'p.yaml', text }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as Error).message).toMatch(message);
  });

  it('v1alpha2 and v1beta1 objects are read, not skipped, and sorted Admin before Baseline, then by priority', () => {
    const { snapshot, skipped } = snapshotFromManifestFiles([{ path: 'p.yaml', text: [USER_STORY_5, USER_STORY_2, USER_STORY_1.replace('v1alpha2', 'v1beta1')].join('\n---\n') }]);
    expect(skipped).toEqual({});
    expect(snapshot.adminPolicies?.map((p) => `${p.kind} ${p.tier} ${p.priority} ${p.name}`)).toEqual([
      'ClusterNetworkPolicy Admin 10 cluster-wide-deny-example',
      'ClusterNetworkPolicy Admin 30 cluster-wide-allow-example',
      'ClusterNetworkPolicy Baseline 10 default',
    ]);
  });

  it('analyze: the JSON cells name the deciding ClusterNetworkPolicy rule', () => {
    const { snapshot } = snapshotFromManifestFiles([{ path: 'platform.yaml', text: storyPlatform() }, { path: 'p.yaml', text: USER_STORY_1 }]);
    const cell = analyzeSnapshot(snapshot, { port: 8080, explain: true }).cells.find((c) => c.from === 'foo-ns-1/client' && c.to === 'sensitive-ns/vault');
    expect(cell).toMatchObject({ allowed: false, ingress: { reason: 'admin-policy', decidedBy: "ClusterNetworkPolicy cluster-wide-deny-example (tier Admin, priority 10) ingress[0] 'select-all-deny-all': Deny" } });
  });
});

describe('lint sees ClusterNetworkPolicies', () => {
  it('an Admin-tier Accept to kube-dns (user story 2) answers the DNS-egress rule for a namespace whose NetworkPolicy denies all egress', () => {
    const dnsFindings = (...docs: string[]) => {
      const { snapshot } = snapshotFromManifestFiles([{ path: 'platform.yaml', text: storyPlatform() }, { path: 'p.yaml', text: [DENY_ALL_NP('foo-ns-1'), ...docs].join('\n---\n') }]);
      return lintSnapshot(snapshot).filter((f) => f.id === 'NC002' && f.namespace === 'foo-ns-1');
    };
    expect(dnsFindings()).toHaveLength(1);
    expect(dnsFindings(USER_STORY_2)).toEqual([]);
  });
});
