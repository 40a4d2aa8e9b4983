import { describe, expect, it } from 'vitest';
import type { CellVerdict } from '../../src/model/verdict.js';
import { diagnoseCell } from '../../src/diagnose/diagnose-cell.js';
import { diagnoseRun, type TargetKinds } from '../../src/diagnose/diagnose-run.js';
import { createPolicyEngine } from '../../src/policy/engine.js';
import { probeEndpoint } from '../../src/run/policy-view.js';
import { platformSnapshot, verdict } from '../run/scenario-builder.js';

const failed = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => verdict({ pass: false, ...p });

describe('diagnoseCell', () => {
  it('names the namespace label a selector needs', () => {
    const snapshot = platformSnapshot({ kubeSystemLabeled: false });
    const engine = createPolicyEngine(snapshot);
    const dnsPod = snapshot.pods.find((p) => p.name === 'coredns-1');
    if (!dnsPod) throw new Error('fixture');
    const flow = engine.evaluateFlow(probeEndpoint('financial-ml', {}, undefined), { kind: 'pod', pod: dnsPod }, 53, 'UDP');
    const v = failed({ source: 'serving', target: 'dns', policy: 'deny', outcome: { kind: 'dns-timeout' }, classification: 'policy-gap' });
    expect(diagnoseCell(v, snapshot, [flow], { sourceNamespace: 'financial-ml', destinationNamespace: 'kube-system' })).toEqual([
      'namespace kube-system has no label name, but financial-ml/financial-ml-baseline selects it by namespaceSelector name=kube-system' +
        ' — fix: kubectl label namespace kube-system name=kube-system',
    ]);
  });

  it.each([
    { name: 'selector matches nothing', service: { namespace: 'ns', name: 's', selectedPods: 0 }, want: /its selector matches no pod/ },
    { name: 'no ready endpoint', service: { namespace: 'ns', name: 's', selectedPods: 2, readyEndpoints: 0 }, want: /none of its endpoints is ready/ },
  ])('service without endpoints: $name', ({ service, want }) => {
    const v = failed({ source: 'a', target: 's', outcome: { kind: 'timeout' }, classification: 'data-plane' });
    const findings = diagnoseCell(v, platformSnapshot(), [], { service });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(want);
  });

  it('has nothing to say about a passing cell', () => {
    expect(diagnoseCell(verdict({ source: 'a', target: 'b' }), platformSnapshot(), [], { service: { namespace: 'n', name: 's', selectedPods: 0 } })).toEqual([]);
  });
});

const kinds: TargetKinds = { dns: 'dns', mlflow: 'service', scheduler: 'service', lb: 'address', other: 'listener' };

describe('diagnoseRun', () => {
  it.each([
    {
      name: 'DNS down when most name-dependent checks fail to resolve',
      cells: [
        failed({ source: 'a', target: 'dns', outcome: { kind: 'dns-timeout' }, classification: 'dns' }),
        failed({ source: 'a', target: 'mlflow', outcome: { kind: 'dns-timeout' }, classification: 'dns' }),
        failed({ source: 'b', target: 'scheduler', outcome: { kind: 'dns-timeout' }, classification: 'dns' }),
        verdict({ source: 'b', target: 'lb' }),
      ],
      want: [/cluster DNS looks down or unreachable: 3 of 3 checks .* from 2 source\(s\) \(a, b\)/],
    },
    {
      name: 'CNI that enforces nothing',
      cells: [
        failed({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        failed({ source: 'b', target: 'mlflow', expect: 'deny', policy: 'deny', outcome: { kind: 'http', status: 200 }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'mlflow' }),
      ],
      want: [/the CNI does not enforce NetworkPolicies \(Flannel\?\): all 2 flows/],
    },
    {
      // The scenario agrees with the data plane, not with the policies: the cell passes, but the policies were not enforced.
      name: 'CNI that enforces nothing: a denied flow the scenario expects open passes, and still counts',
      cells: [
        failed({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        verdict({ source: 'b', target: 'mlflow', expect: 'allow', policy: 'deny', outcome: { kind: 'connected' } }),
      ],
      want: [/the CNI does not enforce NetworkPolicies \(Flannel\?\): all 2 flows/],
    },
    {
      // kube-router (and OVN-Kubernetes, Antrea "Reject") answer denied flows with ICMP port unreachable: ECONNREFUSED.
      // The verdict reads a refusal from a served target as blocked: enforced, not leaked.
      name: 'a CNI that REJECTs denied flows enforces them: refusals are not leaks',
      cells: [
        verdict({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, reason: 'refused (rejected: …), as expected (deny)' }),
        verdict({ source: 'b', target: 'mlflow', expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, reason: 'refused (rejected: …), as expected (deny)' }),
        verdict({ source: 'a', target: 'mlflow' }),
      ],
      want: [],
    },
    {
      name: 'a refusal netcheck cannot read (no known endpoints) is not counted as a leak either',
      cells: [
        verdict({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', outcome: { kind: 'timeout' } }),
        failed({ source: 'b', target: 'lb', expect: 'deny', policy: 'deny', outcome: { kind: 'refused' }, classification: 'unknown' }),
      ],
      want: [],
    },
    {
      name: 'CNI that enforces nothing: denied flows the scenario expects open (known gaps) count too',
      cells: [
        failed({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        failed({ source: 'b', target: 'lb', expect: 'allow', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane', known: 'documented' }),
        verdict({ source: 'a', target: 'mlflow' }),
      ],
      want: [/the CNI does not enforce NetworkPolicies \(Flannel\?\): all 2 flows/],
    },
    {
      name: 'one node that does not enforce (migration)',
      cells: [
        failed({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'timeout' } }),
      ],
      want: [/node n1 does not enforce NetworkPolicies/],
    },
    {
      // Real migration semantics: n1 (Flannel) polices nothing of its own, n2 (Calico) still polices its pods'
      // ingress. So a flow from n1 to a pod on n2 is still blocked, and a flow to a pod on n1 leaks from both nodes:
      // n1 is not "every denied flow got through", but it leaks a superset of what n2 leaks.
      name: 'one node that does not enforce, mid-migration: the other node still polices ingress of its own pods',
      cells: [
        failed({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'timeout' } }),
        verdict({ source: 'a', target: 'on-n2', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'timeout' } }),
        verdict({ source: 'a', target: 'on-n2', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'timeout' } }),
        failed({ source: 'b', target: 'on-n1', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        failed({ source: 'b', target: 'on-n1', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'connected' }, classification: 'data-plane' }),
      ],
      // The leak is the mid-migration finding's; "data plane broken on node n1" would say the same thing twice.
      want: [/^node n1 does not enforce NetworkPolicies \(1 flow\(s\) the policies deny got through from it but not from other nodes\) .*mid-migration\?$/],
    },
    {
      // Mid-migration onto kube-router: n2 already REJECTs what n1 lets through.
      name: 'one node that does not enforce while the other REJECTs denied flows',
      cells: [
        failed({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'refused' } }),
      ],
      want: [/^node n1 does not enforce NetworkPolicies \(1 flow\(s\)/],
    },
    {
      // attributeNodeFaults makes a node's silent failure data-plane; nothing answered, so nothing leaked.
      name: 'a denied flow whose name timed out from one node only is the node, not a leak',
      cells: [
        failed({ source: 'a', target: 'mlflow', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'dns-timeout' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'mlflow', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'timeout' } }),
      ],
      want: [/^data plane broken on node n2: 1 check/],
    },
    {
      name: 'nodes that leak different flows: no node is singled out as not enforcing',
      cells: [
        failed({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'timeout' } }),
        verdict({ source: 'b', target: 'other', expect: 'deny', policy: 'deny', node: 'n1', outcome: { kind: 'timeout' } }),
        failed({ source: 'b', target: 'other', expect: 'deny', policy: 'deny', node: 'n2', outcome: { kind: 'connected' }, classification: 'data-plane' }),
      ],
      want: [/^data plane broken on node n1: 1 check/, /^data plane broken on node n2: 1 check/],
    },
    {
      name: 'a node whose data plane drops allowed traffic',
      cells: [
        failed({ source: 'a', target: 'mlflow', node: 'n2', outcome: { kind: 'timeout' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'mlflow', node: 'n1' }),
        failed({ source: 'a', target: 'scheduler', node: 'n2', outcome: { kind: 'timeout' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'scheduler', node: 'n1' }),
      ],
      want: [/data plane broken on node n2: 2 check\(s\)/],
    },
    {
      // As attributeNodeFaults leaves it: the lookups resolved from n1, so one node is broken, not cluster DNS.
      name: 'DNS timeouts from one node only: the node, not DNS',
      cells: [
        failed({ source: 'a', target: 'dns', node: 'n2', outcome: { kind: 'dns-timeout' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'dns', node: 'n1', outcome: { kind: 'resolved', addresses: [] } }),
        failed({ source: 'a', target: 'mlflow', node: 'n2', outcome: { kind: 'dns-timeout' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'mlflow', node: 'n1' }),
      ],
      want: [/^data plane broken on node n2: 2 check\(s\)/],
    },
    {
      name: 'stale known gaps',
      cells: [failed({ source: 'a', target: 'lb', known: 'x', classification: 'policy-gap', reason: 'known gap no longer reproduces (observed connected, as expected) — remove' })],
      want: [/1 known gap\(s\) no longer reproduce.*a → lb/],
    },
    { name: 'a healthy run', cells: [verdict({ source: 'a', target: 'mlflow' }), verdict({ source: 'a', target: 'other', expect: 'deny', policy: 'deny', outcome: { kind: 'timeout' } })], want: [] },
  ])('$name', ({ cells, want }) => {
    const findings = diagnoseRun(cells, kinds).map((f) => f.text);
    expect(findings).toHaveLength(want.length);
    want.forEach((re, i) => expect(findings[i]).toMatch(re));
  });

  it.each([
    {
      name: 'DNS down: the checks that failed to resolve',
      cells: [
        failed({ source: 'a', target: 'dns', outcome: { kind: 'dns-timeout' }, classification: 'dns' }),
        failed({ source: 'b', target: 'mlflow', outcome: { kind: 'dns-timeout' }, classification: 'dns' }),
        verdict({ source: 'b', target: 'dns', outcome: { kind: 'resolved', addresses: [] } }),
      ],
      want: [[{ source: 'a', target: 'dns' }, { source: 'b', target: 'mlflow' }]],
    },
    {
      name: 'a broken node: its failing cells, with the node',
      cells: [
        failed({ source: 'a', target: 'mlflow', node: 'n2', outcome: { kind: 'timeout' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'mlflow', node: 'n1' }),
        verdict({ source: 'a', target: 'other', node: 'n2' }),
      ],
      want: [[{ source: 'a', target: 'mlflow', node: 'n2' }]],
    },
    {
      name: 'a node that does not enforce: the flows that leaked from it',
      cells: [
        failed({ source: 'a', target: 'other', node: 'n2', expect: 'deny', policy: 'deny', outcome: { kind: 'connected' }, classification: 'data-plane' }),
        verdict({ source: 'a', target: 'other', node: 'n1', expect: 'deny', policy: 'deny', outcome: { kind: 'timeout' } }),
      ],
      want: [[{ source: 'a', target: 'other', node: 'n2' }]],
    },
    {
      name: 'stale known gaps: those cells',
      cells: [failed({ source: 'a', target: 'lb', known: 'x', classification: 'policy-gap', reason: 'known gap no longer reproduces (observed connected, as expected) — remove' })],
      want: [[{ source: 'a', target: 'lb' }]],
    },
  ])('each finding names the cells it is about: $name', ({ cells, want }) => {
    expect(diagnoseRun(cells, kinds).map((f) => f.cells)).toEqual(want);
  });
});
