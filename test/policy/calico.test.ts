/** Calico policies: read from manifests, "may select" by their selectors, noted on verdicts and in lint (NC011). */
import { describe, expect, it } from 'vitest';
import { evaluateCalicoSelector } from '../../src/policy/calico.js';
import { createPolicyEngine, describeFlow } from '../../src/policy/engine.js';
import { lintSnapshot } from '../../src/policy/lint.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import type { PodInfo } from '../../src/policy/types.js';

describe('evaluateCalicoSelector (three-valued: unknown counts as "may select")', () => {
  const labels = { app: 'web', role: 'frontend', 'projectcalico.org/namespace': 'shop' };
  it.each([
    ['', true],
    ['all()', true],
    ['global()', false],
    ["app == 'web'", true],
    ['app == "db"', false],
    ["app != 'db'", true],
    ["tier != 'x'", true], // != holds for a pod without the label (Calico semantics)
    ['has(role)', true],
    ['!has(role)', false],
    ['has(tier)', false],
    ["app in {'web', 'api'}", true],
    ["app not in {'web'}", false],
    ["tier not in {'a'}", true],
    ["app == 'web' && has(role)", true],
    ["app == 'db' || role == 'frontend'", true],
    ["!(app == 'web' && role == 'frontend')", false],
    ["projectcalico.org/namespace == 'shop' && app starts with 'we'", true],
    ["app contains 'x' || role ends with 'end'", true],
    // Not parseable anywhere in the expression: netcheck cannot tell, so it may select.
    ["app === 'web'", 'unknown'],
    ["app == 'web' &&", 'unknown'],
    ["has(app) && app == 'web' && unknown_fn(x)", 'unknown'],
    ["app == 'db' && unknown_fn(x)", 'unknown'],
    ["tier == 'x' && app == 'web'", false],
    ["tier in {'x'} || app == 'web'", true],
  ] as const)('%s → %s', (selector, expected) => {
    expect(evaluateCalicoSelector(selector, labels)).toBe(expected);
  });
});

const PODS = `apiVersion: v1
kind: PodList
items:
- metadata: {name: web, namespace: shop, labels: {app: web}}
  spec: {containers: [{ports: [{containerPort: 8080}]}]}
- metadata: {name: db, namespace: shop, labels: {app: db}}
  spec: {containers: [{ports: [{containerPort: 5432}]}]}
- metadata: {name: api, namespace: billing, labels: {app: api}}
  spec: {containers: [{ports: [{containerPort: 8080}]}]}`;

const CALICO = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-db-egress}
spec:
  order: 100
  selector: app == 'db'
  types: [Egress]
  egress: [{action: Deny}]
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: shop-ingress, namespace: shop}
spec:
  order: 10
  selector: app in {'web'}
  ingress: [{action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: unparsed}
spec:
  selector: app =~ 'api'
  namespaceSelector: team == 'billing'`;

function load(...texts: string[]) {
  return snapshotFromManifestFiles(texts.map((text, i) => ({ path: `f${i}.yaml`, text })));
}

describe('Calico policies in the snapshot', () => {
  it('are read as other policies (a Calico NetworkPolicy is not mistaken for a Kubernetes one), in Calico order', () => {
    const { snapshot, skipped } = load(PODS, CALICO);
    expect(skipped).toEqual({});
    expect(snapshot.policies).toEqual([]);
    expect(snapshot.otherPolicies?.map((o) => [o.kind, o.namespace ?? '', o.name, o.order ?? null, o.types ?? null])).toEqual([
      ['NetworkPolicy', 'shop', 'shop-ingress', 10, null],
      ['GlobalNetworkPolicy', '', 'deny-db-egress', 100, ['egress']],
      ['GlobalNetworkPolicy', '', 'unparsed', null, null],
    ]);
    expect(snapshot.otherPolicies?.[0]?.source).toBe('f1.yaml:10');
  });

  it('a verdict notes the Calico policies that may select its source (egress) or destination (ingress)', () => {
    const engine = createPolicyEngine(load(PODS, CALICO).snapshot);
    const pod = (ns: string, name: string): PodInfo => engine.findPod(ns, name) as PodInfo;
    const dbToWeb = engine.evaluateFlow({ kind: 'pod', pod: pod('shop', 'db') }, { kind: 'pod', pod: pod('shop', 'web') }, 8080);
    expect(dbToWeb.allowed).toBe(true); // the Kubernetes-only verdict stands, but is not presented as certain
    expect(dbToWeb.mayBeDecidedBy?.map((m) => `${m.selects} ${m.name}`)).toEqual(['source deny-db-egress', 'destination shop/shop-ingress']);
    const lines = describeFlow(dbToWeb, { kind: 'pod', pod: pod('shop', 'db') }, { kind: 'pod', pod: pod('shop', 'web') });
    expect(lines).toContain('  NOT CERTAIN: netcheck does not evaluate Calico policies, and these may select this flow:');
    expect(lines.join('\n')).toMatch(/Calico GlobalNetworkPolicy deny-db-egress \(order 100\) may select the source shop\/db/);
    // Egress-only policy: not for ingress to db. shop-ingress is namespaced: not for billing. "unparsed" may select
    // api (its selector cannot be evaluated) but its namespaceSelector names a label billing lacks: ruled out.
    const webToDb = engine.evaluateFlow({ kind: 'pod', pod: pod('shop', 'web') }, { kind: 'pod', pod: pod('shop', 'db') }, 5432);
    expect(webToDb.mayBeDecidedBy?.map((m) => `${m.selects} ${m.name}`)).toEqual(['source shop/shop-ingress']);
    const apiToApi = engine.evaluateFlow({ kind: 'pod', pod: pod('billing', 'api') }, { kind: 'pod', pod: pod('billing', 'api') }, 8080);
    expect(apiToApi.mayBeDecidedBy).toBeUndefined();
  });

  it('a GlobalNetworkPolicy whose selector cannot be parsed may select every pod its namespaceSelector allows', () => {
    const labelled = PODS.replace('{name: api, namespace: billing,', '{name: api, namespace: billing,') + '\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: billing, labels: {team: billing}}';
    const engine = createPolicyEngine(load(labelled, CALICO).snapshot);
    const api = engine.findPod('billing', 'api') as PodInfo;
    expect(engine.otherPoliciesSelecting(api, 'ingress').map((o) => o.name)).toEqual(['unparsed']);
  });

  it('lint NC011 names each Calico policy that may select pods, with the pods and the manifest line', () => {
    const { snapshot } = load(PODS, CALICO);
    const findings = lintSnapshot(snapshot).filter((f) => f.id === 'NC011');
    expect(findings.map((f) => [f.policy, f.severity, f.source])).toEqual([
      ['deny-db-egress', 'warning', 'f1.yaml:1'],
      ['shop/shop-ingress', 'warning', 'f1.yaml:10'],
    ]);
    expect(findings[0]?.message).toMatch(/^Calico GlobalNetworkPolicy deny-db-egress \(order 100\) may select 1 pod\(s\) \(shop\/db\)/);
    // Without Calico policies there is no NC011.
    expect(lintSnapshot(load(PODS).snapshot).some((f) => f.id === 'NC011')).toBe(false);
  });
});
