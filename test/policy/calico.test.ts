/**
 * Calico's default tier in the engine: GlobalNetworkPolicy / NetworkPolicy read from manifests and evaluated with the
 * Kubernetes NetworkPolicies in felix's order. Each expectation cites the Calico source (pinned v3.28 branch) or doc
 * it follows; the same cases run against felix itself in test/e2e/calico-policy-conformance.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createPolicyEngine, describeFlow, explainVerdict } from '../../src/policy/engine.js';
import { lintSnapshot } from '../../src/policy/lint.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { FlowVerdict, PodInfo, Protocol } from '../../src/policy/types.js';

const PODS = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: retail}}
---
apiVersion: v1
kind: Namespace
metadata: {name: billing, labels: {team: finance}}
---
apiVersion: v1
kind: PodList
items:
- metadata: {name: web, namespace: shop, labels: {app: web, tier: front}}
  spec: {serviceAccountName: web-sa, containers: [{ports: [{containerPort: 8080, name: http}]}]}
- metadata: {name: db, namespace: shop, labels: {app: db}}
  spec: {containers: [{ports: [{containerPort: 5432}]}]}
  status: {podIP: 10.244.1.7}
- metadata: {name: api, namespace: billing, labels: {app: api}}
  spec: {containers: [{ports: [{containerPort: 8080}, {containerPort: 53, protocol: UDP}]}]}
  status: {podIP: 10.244.2.9}`;

function engineFor(...texts: string[]) {
  const { snapshot } = snapshotFromManifestFiles(texts.map((text, i) => ({ path: `f${i}.yaml`, text })));
  const engine = createPolicyEngine(snapshot);
  const pod = (key: string): PodInfo => engine.findPod(...(key.split('/') as [string, string])) as PodInfo;
  const flow = (from: string, to: string, port: number | string, protocol: Protocol = 'TCP'): FlowVerdict =>
    engine.evaluateFlow({ kind: 'pod', pod: pod(from) }, { kind: 'pod', pod: pod(to) }, port, protocol);
  const toAddress = (from: string, ip: string, port: number): FlowVerdict => engine.evaluateFlow({ kind: 'pod', pod: pod(from) }, { kind: 'address', ip }, port);
  return { snapshot, engine, pod, flow, toAddress };
}

const gnp = (name: string, spec: string) => `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: ${name}}
spec:
${spec.replace(/^/gm, '  ')}`;
const cnp = (ns: string, name: string, spec: string) => `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: ${name}, namespace: ${ns}}
spec:
${spec.replace(/^/gm, '  ')}`;

describe('order: the first Allow, Deny or Pass in felix order decides (policy_sorter.go PolKVLess)', () => {
  it('a lower order Deny beats a higher order Allow, and the explanation names policy, rule index and action', () => {
    const { flow } = engineFor(
      PODS,
      gnp('allow-all', "order: 200\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow}]"),
      gnp('deny-web', "order: 100\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Log}, {action: Deny, source: {selector: app == 'web'}}]"),
    );
    const v = flow('shop/web', 'shop/db', 5432);
    expect(v.allowed).toBe(false);
    expect(v.ingress.reason).toBe('calico-policy');
    expect(v.ingress.calicoRule?.text).toBe('Calico GlobalNetworkPolicy deny-web (order 100) ingress[1]: Deny');
    expect(explainVerdict(v)[0]).toBe('ingress: denied by Calico GlobalNetworkPolicy deny-web (order 100) ingress[1]: Deny');
    // api is not web: the Deny rule does not match, the next policy's Allow decides.
    expect(flow('billing/api', 'shop/db', 5432).ingress.calicoRule?.text).toBe('Calico GlobalNetworkPolicy allow-all (order 200) ingress[0]: Allow');
  });

  it('equal orders go by the stored name ("default.<name>"); no order comes last', () => {
    const { flow } = engineFor(
      PODS,
      gnp('b-allow', "order: 5\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow}]"),
      gnp('a-deny', "order: 5\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Deny}]"),
      gnp('unordered-allow', "selector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow}]"),
    );
    expect(flow('shop/web', 'shop/db', 5432).ingress.calicoRule?.text).toBe('Calico GlobalNetworkPolicy a-deny (order 5) ingress[0]: Deny');
  });

  it('Kubernetes NetworkPolicies sit at order 1000: a Calico Deny at 500 wins, a Calico Allow at 1500 comes after them', () => {
    const knp = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]`;
    const denyFirst = engineFor(PODS, knp, gnp('deny-db', "order: 500\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Deny, source: {selector: app == 'web'}}]"));
    expect(denyFirst.flow('shop/web', 'shop/db', 5432).allowed).toBe(false);
    const allowAfter = engineFor(PODS, knp, gnp('allow-api', "order: 1500\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {selector: app == 'api'}}]"));
    const web = allowAfter.flow('shop/web', 'shop/db', 5432);
    expect([web.allowed, web.ingress.reason, web.ingress.admittedBy[0]?.policy]).toEqual([true, 'admitted', 'shop/db-from-web']);
    // api is not admitted by the NetworkPolicy: Calico goes on to order 1500, whose Allow decides (Kubernetes alone would deny).
    const api = allowAfter.flow('billing/api', 'shop/db', 5432);
    expect([api.allowed, api.ingress.calicoRule?.text]).toEqual([true, 'Calico GlobalNetworkPolicy allow-api (order 1500) ingress[0]: Allow']);
  });
});

describe('end of tier and Pass (felix/rules/endpoints.go)', () => {
  it('a policy that selects the pod and matches nothing: dropped at the end of the tier; selects nothing: the profile allows', () => {
    const { flow } = engineFor(PODS, gnp('db-only-from-api', "order: 10\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {selector: app == 'api'}}]"));
    const v = flow('shop/web', 'shop/db', 5432);
    expect([v.allowed, v.ingress.reason, v.ingress.isolatedBy]).toEqual([false, 'calico-end-of-tier', ['Calico GlobalNetworkPolicy db-only-from-api (order 10)']]);
    expect(describeFlow(v, { kind: 'address', ip: 'x' }, { kind: 'address', ip: 'y' }).join('\n')).toMatch(/DENIED at the end of Calico's default tier/);
    expect(flow('shop/db', 'shop/web', 8080).allowed).toBe(true); // web: no policy applies
  });

  it('Pass skips the rest of the tier, Kubernetes NetworkPolicies included, and the namespace profile allows', () => {
    const denyAll = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}`;
    const { flow } = engineFor(PODS, denyAll, gnp('pass-api', "order: 10\nselector: projectcalico.org/namespace == 'shop'\ntypes: [Ingress]\ningress: [{action: Pass, source: {namespaceSelector: team == 'finance'}}]"));
    const v = flow('billing/api', 'shop/db', 5432);
    expect([v.allowed, v.ingress.reason, v.ingress.calicoRule?.action]).toEqual([true, 'calico-policy', 'Pass']);
    // Not passed: the GlobalNetworkPolicy applied and the NetworkPolicy admits nothing, so the tier ends in a drop.
    expect(flow('shop/web', 'shop/db', 5432).ingress).toMatchObject({ allowed: false, reason: 'calico-end-of-tier', isolatedBy: ['Calico GlobalNetworkPolicy pass-api (order 10)', 'shop/deny-all'] });
  });

  it('types: a v3 policy without types and with only egress rules is Egress only (clientv3 defaultPolicyTypesField)', () => {
    const { snapshot, flow } = engineFor(PODS, gnp('egress-only', "selector: app == 'web'\negress: [{action: Deny, destination: {selector: app == 'db'}}]"));
    expect(snapshot.otherPolicies?.[0]?.types).toEqual(['egress']);
    expect(flow('shop/web', 'shop/db', 5432).egress.calicoRule?.action).toBe('Deny');
    expect(flow('shop/db', 'shop/web', 8080).ingress.reason).toBe('not-isolated');
  });

  it('types: a stored crd.projectcalico.org/v1 policy without types governs both directions (felix governsType back-compatibility)', () => {
    const stored = `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: default.web-egress}
spec: {selector: app == 'web', egress: [{action: Allow}]}`;
    const { snapshot, flow } = engineFor(PODS, stored);
    expect(snapshot.otherPolicies?.[0]).toMatchObject({ name: 'web-egress', sortName: 'default.web-egress', types: ['ingress', 'egress'] });
    expect(flow('shop/db', 'shop/web', 8080).ingress.reason).toBe('calico-end-of-tier');
  });
});

describe('selectors of policies and rules (updateprocessors: rules.go, networkpolicyprocessor.go)', () => {
  it('a namespaced NetworkPolicy selects only its namespace; its rule selector too, unless a namespaceSelector is given', () => {
    const { flow } = engineFor(
      PODS,
      cnp('shop', 'db-in', "order: 10\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {selector: has(app)}}]"),
      cnp('shop', 'db-in-any', "order: 20\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {selector: app == 'api', namespaceSelector: all()}}]"),
    );
    expect(flow('shop/web', 'shop/db', 5432).ingress.calicoRule?.text).toBe('Calico NetworkPolicy shop/db-in (order 10) ingress[0]: Allow');
    expect(flow('billing/api', 'shop/db', 5432).ingress.calicoRule?.text).toBe('Calico NetworkPolicy shop/db-in-any (order 20) ingress[0]: Allow');
  });

  it('namespaceSelector reads namespace labels and projectcalico.org/name; projectcalico.org/namespace is a pod label', () => {
    const { flow } = engineFor(
      PODS,
      gnp('by-ns-label', "order: 1\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Deny, source: {namespaceSelector: team == 'finance'}}]"),
      gnp('by-pod-label', "order: 2\nselector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {selector: projectcalico.org/namespace == 'shop'}}]"),
    );
    expect(flow('billing/api', 'shop/db', 5432).ingress.calicoRule?.text).toMatch(/by-ns-label .* Deny/);
    expect(flow('shop/web', 'shop/db', 5432).ingress.calicoRule?.text).toMatch(/by-pod-label .* Allow/);
    const byName = engineFor(PODS, gnp('by-name', "selector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {namespaceSelector: projectcalico.org/name == 'billing'}}]"));
    expect(byName.flow('billing/api', 'shop/db', 5432).allowed).toBe(true);
    expect(byName.flow('shop/web', 'shop/db', 5432).allowed).toBe(false);
  });

  it('has(), in {}, not in {} and ! as Calico evaluates them (a missing label satisfies != and not in)', () => {
    const { flow } = engineFor(
      PODS,
      gnp('sel', "selector: app == 'db'\ntypes: [Ingress]\ningress:\n- {action: Deny, source: {selector: \"!has(tier) && app not in {'db'}\"}}\n- {action: Allow, source: {selector: \"tier in {'front', 'back'}\"}}"),
    );
    expect(flow('billing/api', 'shop/db', 5432).ingress.calicoRule?.text).toMatch(/ingress\[0\]: Deny/);
    expect(flow('shop/web', 'shop/db', 5432).ingress.calicoRule?.text).toMatch(/ingress\[1\]: Allow/);
  });

  it('serviceAccountSelector and serviceAccounts.names match the pod\'s ServiceAccount; its other labels are unknown', () => {
    const { flow } = engineFor(PODS, gnp('sa', "selector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, source: {serviceAccounts: {names: [web-sa]}}}]"));
    expect(flow('shop/web', 'shop/db', 5432).allowed).toBe(true);
    expect(flow('billing/api', 'shop/db', 5432).allowed).toBe(false); // api runs as "default"
    const bySelector = engineFor(PODS, gnp('sa-sel', "serviceAccountSelector: projectcalico.org/name == 'web-sa'\ntypes: [Egress]\negress: [{action: Deny}]"));
    expect(bySelector.flow('shop/web', 'shop/db', 5432).egress.calicoRule?.action).toBe('Deny');
    expect(bySelector.flow('shop/db', 'shop/web', 8080).egress.reason).toBe('not-isolated');
    const byLabel = engineFor(PODS, gnp('sa-label', "serviceAccountSelector: team == 'x'\ntypes: [Egress]\negress: [{action: Deny}]"));
    const v = byLabel.flow('shop/web', 'shop/db', 5432);
    expect(v.mayBeDecidedBy?.[0]?.text).toMatch(/ServiceAccount label\(s\) team of shop\/web-sa \(netcheck does not read ServiceAccounts\)/);
  });
});

describe('nets, ports and protocols', () => {
  it('notNets and nets match addresses; a pod without an address is unknown unless the net is /0', () => {
    const { flow, toAddress } = engineFor(PODS, gnp('egress', "selector: app == 'api'\ntypes: [Egress]\negress: [{action: Allow, destination: {notNets: [10.244.1.0/24]}}]"));
    expect(flow('billing/api', 'shop/db', 5432).allowed).toBe(false); // db is 10.244.1.7: excluded
    expect(toAddress('billing/api', '192.0.2.10', 443).allowed).toBe(true);
    const v = flow('billing/api', 'shop/web', 8080); // web has no address in the manifests
    expect(v.mayBeDecidedBy?.[0]?.text).toMatch(/destination.notNets \[10.244.1.0\/24\] depends on the address of shop\/web/);
    const all = engineFor(PODS, gnp('egress', "selector: app == 'api'\ntypes: [Egress]\negress: [{action: Deny, destination: {nets: [0.0.0.0/0]}}]"));
    expect(all.flow('billing/api', 'shop/web', 8080).egress.calicoRule?.action).toBe('Deny');
  });

  it('ports: numbers, ranges "first:last", named ports of the destination; notPorts; protocol must match', () => {
    const { flow } = engineFor(
      PODS,
      gnp('ports', "selector: has(app)\ntypes: [Ingress]\ningress:\n- {action: Allow, protocol: TCP, destination: {ports: ['5000:5500']}}\n- {action: Allow, protocol: TCP, destination: {ports: [http]}}\n- {action: Allow, protocol: UDP, destination: {notPorts: [53]}}"),
    );
    expect(flow('shop/web', 'shop/db', 5432).ingress.calicoRule?.ruleIndex).toBe(0);
    expect(flow('shop/db', 'shop/web', 8080).ingress.calicoRule?.ruleIndex).toBe(1);
    expect(flow('shop/db', 'billing/api', 8080).ingress.reason).toBe('calico-end-of-tier'); // api's 8080 is not named http
    expect(flow('shop/db', 'billing/api', 53, 'UDP').ingress.reason).toBe('calico-end-of-tier');
  });

  it('an ICMP rule does not match TCP; notProtocol ICMP does', () => {
    const { flow } = engineFor(PODS, gnp('icmp', "selector: app == 'db'\ntypes: [Ingress]\ningress: [{action: Allow, protocol: ICMP, icmp: {type: 8}}, {action: Deny, notProtocol: ICMP}]"));
    expect(flow('shop/web', 'shop/db', 5432).ingress.calicoRule?.text).toMatch(/ingress\[1\]: Deny/);
  });
});

describe('what is refused or not modelled', () => {
  it('doNotTrack / preDNAT policies are left out (felix renders them for host endpoints only), and lint says so', () => {
    const { snapshot, flow } = engineFor(PODS, gnp('host', "selector: all()\ndoNotTrack: true\napplyOnForward: true\ntypes: [Ingress]\ningress: [{action: Deny}]"));
    expect(flow('shop/web', 'shop/db', 5432).allowed).toBe(true);
    const nc011 = lintSnapshot(snapshot).filter((f) => f.id === 'NC011');
    expect(nc011.map((f) => [f.policy, f.source])).toEqual([['host', 'f1.yaml:1']]);
    expect(nc011[0]?.message).toMatch(/spec.doNotTrack: felix applies doNotTrack policies to host endpoints only/);
  });

  it('a bad selector, action, port or tier is an error at its file:line', () => {
    const load = (text: string) => () => snapshotFromManifestFiles([{ path: 'p.yaml', text }]);
    expect(load(gnp('x', "selector: app == 'db'\ningress:\n- action: Allow\n  source: {selector: app = 'web'}"))).toThrow(/p\.yaml:8:24: GlobalNetworkPolicy: spec\.ingress\[0\]\.source\.selector: selector "app = 'web'": expected == at column 5/);
    expect(load(gnp('x', 'ingress: [{action: Reject}]'))).toThrow(/p\.yaml:5.*must be Allow, Deny, Pass or Log/);
    expect(load(gnp('x', 'ingress: [{action: Allow, destination: {ports: [80]}}]'))).toThrow(/spec\.ingress\[0\]\.destination\.ports: rules that specify ports must set protocol/);
    expect(load(gnp('x', 'tier: security\ningress: [{action: Allow}]'))).toThrow(/spec\.tier: tier "security": the Calico netcheck models \(v3\.28\) has only the default tier/);
  });
});
