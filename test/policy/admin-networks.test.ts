/**
 * AdminNetworkPolicy egress `networks` against pods whose address the input does not give (every Deployment read
 * from manifests). The API text (sigs.k8s.io/network-policy-api v0.1.7 apis/v1alpha1/adminnetworkpolicy_types.go,
 * AdminNetworkPolicyEgressPeer.Networks; the same words in v0.3.0 apis/v1alpha2/clusternetworkpolicy_types.go):
 * "cluster-internal traffic will be checked against the rule as well. So if you Allow or Deny traffic to
 * `"0.0.0.0/0"`, that will allow or deny all IPv4 pod-to-pod traffic as well." The conformance suite relies on it
 * (conformance/base/admin_tier/standard-egress-inline-cidr-rules.yaml: Deny to 0.0.0.0/0 and ::/0 must block
 * gryffindor -> ravenclaw pods). So a CIDR holding the whole pod network matches every pod, address or not; a
 * narrower one makes the verdict depend on the pod's address, and netcheck says so instead of not matching.
 * These are issue 16's reproduction cases (they failed before the fix: ALLOWED without the ANP, and DENIED).
 */
import { describe, expect, it } from 'vitest';
import { analyzeSnapshot } from '../../src/policy/analyze.js';
import { createPolicyEngine, describeFlow, explainVerdict, type PolicyEngine } from '../../src/policy/engine.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { ClusterSnapshot, Endpoint, FlowVerdict, PodInfo } from '../../src/policy/types.js';

const DEPLOYMENTS = ['a', 'b']
  .map(
    (name) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ns-${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080, name: http}]}]}`,
  )
  .join('\n---\n');

const anp = (action: string, networks: string[], extra = ''): string => `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: egress-networks}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: ns-a}}}
  egress:${extra}
  - name: to-networks
    action: ${action}
    to: [{networks: [${networks.join(', ')}]}]`;

const DENY_ALL_EGRESS = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all-egress, namespace: ns-a}
spec: {podSelector: {}, policyTypes: [Egress]}`;

function load(...docs: string[]): { snapshot: ClusterSnapshot; engine: PolicyEngine } {
  const { snapshot } = snapshotFromManifestFiles([{ path: 'all.yaml', text: [DEPLOYMENTS, ...docs].join('\n---\n') }]);
  return { snapshot, engine: createPolicyEngine(snapshot) };
}

function end(engine: PolicyEngine, ns: string, name: string): Endpoint {
  const pod = engine.findPod(ns, name) as PodInfo;
  expect(pod, `${ns}/${name}`).toBeDefined();
  return { kind: 'pod', pod };
}

function aToB(engine: PolicyEngine): FlowVerdict {
  return engine.evaluateFlow(end(engine, 'ns-a', 'a'), end(engine, 'ns-b', 'b'), 8080);
}

function matrixAllows(engine: PolicyEngine): boolean {
  const m = engine.computeMatrix(8080);
  const s = m.pods.findIndex((p) => p.name === 'a');
  const d = m.pods.findIndex((p) => p.name === 'b');
  return m.allowed[s * m.pods.length + d] === 1;
}

describe('AdminNetworkPolicy egress networks, address-less pods (issue 16)', () => {
  it('Deny to 0.0.0.0/0 denies pod-to-pod traffic between two Deployments, naming the ANP', () => {
    const { engine } = load(anp('Deny', ['0.0.0.0/0']));
    const v = aToB(engine);
    expect(v.allowed).toBe(false);
    expect(v.egress.decidedBy?.text).toBe("AdminNetworkPolicy egress-networks (priority 10) egress[0] 'to-networks': Deny");
    expect(describeFlow(v, end(engine, 'ns-a', 'a'), end(engine, 'ns-b', 'b'))[0]).toBe('DENIED: ns-a/a -> ns-b/b on 8080/TCP');
    expect(v.dependsOn).toBeUndefined();
    expect(matrixAllows(engine)).toBe(false);
  });

  it('Allow to 0.0.0.0/0 admits the flow over a deny-all egress NetworkPolicy, naming the ANP', () => {
    const { engine } = load(anp('Allow', ['0.0.0.0/0']), DENY_ALL_EGRESS);
    const v = aToB(engine);
    expect(v.allowed).toBe(true);
    expect(v.egress.reason).toBe('admin-policy');
    expect(explainVerdict(v)[0]).toBe("egress: allowed by AdminNetworkPolicy egress-networks (priority 10) egress[0] 'to-networks': Allow");
    expect(matrixAllows(engine)).toBe(true);
  });

  it('::/0 holds the whole (IPv6) pod network too', () => {
    const { engine } = load(anp('Deny', ['::/0']));
    expect(aToB(engine).allowed).toBe(false);
    expect(matrixAllows(engine)).toBe(false);
  });

  it('a narrower CIDR makes the verdict depend on the pod address: not a silent non-match', () => {
    const { engine, snapshot } = load(anp('Deny', ['10.0.0.0/8']));
    const v = aToB(engine);
    expect(v.dependsOn).toEqual([
      "AdminNetworkPolicy egress-networks (priority 10) egress[0] 'to-networks': Deny applies if the address of ns-b/b is in 10.0.0.0/8, and the input gives no address for it (no status.podIP)",
    ]);
    const lines = describeFlow(v, end(engine, 'ns-a', 'a'), end(engine, 'ns-b', 'b'));
    expect(lines).toContain('  NOT CERTAIN: the verdict depends on what the input does not say:');
    const cell = analyzeSnapshot(snapshot, { port: 8080, explain: true }).cells.find((c) => c.from === 'ns-a/a' && c.to === 'ns-b/b');
    expect(cell?.dependsOn).toEqual(v.dependsOn);
  });

  it('a narrower Deny changes nothing where the flow is denied anyway; a narrower Allow nothing where it is allowed', () => {
    expect(aToB(load(anp('Deny', ['10.0.0.0/8']), DENY_ALL_EGRESS).engine).dependsOn).toBeUndefined();
    expect(aToB(load(anp('Allow', ['10.0.0.0/8'])).engine).dependsOn).toBeUndefined();
  });

  it('with the pod address known, the CIDR decides as before', () => {
    const { snapshot } = load(anp('Deny', ['10.0.0.0/8']));
    const withIp = (ip: string): PolicyEngine => createPolicyEngine({ ...snapshot, pods: snapshot.pods.map((p) => (p.name === 'b' ? { ...p, ip } : p)) });
    const inside = aToB(withIp('10.1.2.3'));
    expect(inside.allowed).toBe(false);
    expect(inside.dependsOn).toBeUndefined();
    const outside = aToB(withIp('192.168.5.5'));
    expect(outside.allowed).toBe(true);
    expect(outside.dependsOn).toBeUndefined();
  });

  it('a CIDR holding every node podCIDR holds the pod network; one outside all of them matches no pod', () => {
    const nodes = ['n1', 'n2']
      .map((n, i) => `apiVersion: v1\nkind: Node\nmetadata: {name: ${n}}\nspec: {podCIDR: 10.244.${i}.0/24, podCIDRs: [10.244.${i}.0/24]}`)
      .join('\n---\n');
    const holding = load(anp('Deny', ['10.244.0.0/16']), nodes).engine;
    expect(aToB(holding).allowed).toBe(false);
    expect(aToB(holding).dependsOn).toBeUndefined();
    expect(matrixAllows(holding)).toBe(false);
    const outside = load(anp('Deny', ['172.16.0.0/12']), nodes).engine;
    expect(aToB(outside).allowed).toBe(true);
    expect(aToB(outside).dependsOn).toBeUndefined();
    const part = load(anp('Deny', ['10.244.1.0/24']), nodes).engine;
    expect(aToB(part).dependsOn?.[0]).toContain('applies if the address of ns-b/b is in 10.244.1.0/24');
  });

  it('a Pass on the pod traffic first keeps the 0.0.0.0/0 rule for what leaves the cluster (the API text\'s advice)', () => {
    const pass = `
  - name: pass-pods
    action: Pass
    to: [{namespaces: {}}]`;
    const { engine } = load(anp('Deny', ['0.0.0.0/0'], pass));
    const v = aToB(engine);
    expect(v.allowed).toBe(true);
    expect(v.egress.passedBy?.ruleName).toBe('pass-pods');
    expect(engine.evaluateFlow(end(engine, 'ns-a', 'a'), { kind: 'address', ip: '8.8.8.8' }, 53).allowed).toBe(false);
  });
});
