/**
 * Snapshot diffs on plain data: every class of change, per node, predicted changes, cluster fact changes, and
 * the files `netcheck diff` must refuse. The same classification on real kube-router is in test/e2e/cluster-run.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/model/errors.js';
import type { Outcome } from '../../src/model/outcome.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import type { CellVerdict, ClusterFacts, ObservedPath, PolicyView } from '../../src/model/verdict.js';
import { compareFacts, denialEnforcedBy, describeClusterFacts, diffSnapshots, parseSnapshot, predictChanges, toSnapshot } from '../../src/run/snapshot.js';
import { runResult, verdict } from './scenario-builder.js';

const outcomes: Record<ObservedPath | 'not-run', Outcome> = {
  open: { kind: 'connected' },
  blocked: { kind: 'timeout' },
  unknown: { kind: 'refused' },
  'not-run': { kind: 'error', message: 'pod did not start' },
};

function c(target: string, expect: 'allow' | 'deny', policy: PolicyView, path: ObservedPath | 'not-run', extra: Partial<CellVerdict> = {}): CellVerdict {
  return verdict({ source: 'serving', target, expect, policy, outcome: outcomes[path], ...(path === 'not-run' ? {} : { path }), ...extra });
}

function snap(cells: CellVerdict[], extra: Partial<Snapshot> = {}, facts?: ClusterFacts): Snapshot {
  return { ...toSnapshot(runResult(cells, facts ? { facts } : {}), { netcheckVersion: '0.1.0', perNode: false }), ...extra };
}

describe('diffSnapshots', () => {
  const before = snap([
    c('dns', 'allow', 'allow', 'open'),
    c('training-api', 'deny', 'deny', 'open'),
    c('mlflow', 'allow', 'deny', 'open', { known: 'egress opens only 443' }),
    c('seldon', 'allow', 'allow', 'blocked'),
    c('metrics', 'deny', 'deny', 'open'),
    c('outsider', 'deny', 'deny', 'blocked'),
    c('flaky', 'allow', 'allow', 'not-run'),
    c('gone', 'allow', 'allow', 'open'),
  ]);
  const after = snap([
    c('dns', 'allow', 'allow', 'open'),
    c('training-api', 'deny', 'deny', 'blocked'),
    c('mlflow', 'allow', 'deny', 'blocked', { known: 'egress opens only 443', policyExplanation: ['egress: financial-ml-isolation admits only 443, 80'] }),
    c('seldon', 'allow', 'allow', 'open'),
    c('metrics', 'deny', 'deny', 'open'),
    c('outsider', 'deny', 'deny', 'open'),
    c('flaky', 'allow', 'allow', 'open'),
    c('new', 'allow', 'allow', 'open'),
  ]);
  const diff = diffSnapshots(before, after, ['base.json', 'node-a.json']);
  const classOf = (target: string) => diff.changes.find((x) => x.target === target)?.change;

  it('classifies each cell by its change against the intent', () => {
    expect(Object.fromEntries(diff.changes.map((x) => [x.target, x.change]))).toEqual({
      dns: 'unchanged',
      'training-api': 'newly-enforced',
      mlflow: 'regression',
      seldon: 'opened',
      metrics: 'still-not-enforced',
      outsider: 'regression',
      flaky: 'not-compared',
      gone: 'removed',
      new: 'added',
    });
  });
  it('a regression carries the policy explanation and, for a known gap, the scenario\'s reason', () => {
    const mlflow = diff.changes.find((x) => x.target === 'mlflow')!;
    expect(mlflow.reason).toMatch(/was open, now blocked, but the intent is allow \(the policies say deny\); the scenario's known gap: egress opens only 443/);
    expect(mlflow.policyExplanation).toEqual(['egress: financial-ml-isolation admits only 443, 80']);
    expect(diff.changes.find((x) => x.target === 'outsider')?.reason).toMatch(/enforcement was lost/);
  });
  it('lists the most important classes first and counts every class', () => {
    expect(diff.changes[0]?.change).toBe('regression');
    expect(diff.changes.at(-1)?.change).toBe('unchanged');
    expect(diff.counts).toMatchObject({ regression: 2, 'newly-enforced': 1, opened: 1, 'still-not-enforced': 1, 'not-compared': 1, added: 1, removed: 1, unchanged: 1 });
  });
  it('an ambiguous reading is not compared, naming the side', () => {
    const d = diffSnapshots(snap([c('x', 'allow', 'allow', 'open')]), snap([c('x', 'allow', 'allow', 'unknown')]));
    expect(d.changes[0]).toMatchObject({ change: 'not-compared', reason: expect.stringMatching(/no reading of the path in AFTER \(refused\)/) });
    expect(classOf('flaky')).toBe('not-compared');
  });

  it('per node: cells are per (source, target, node), so only the migrated node\'s cells change', () => {
    const cells = (pathOnA: ObservedPath) => [
      c('training-api', 'deny', 'deny', pathOnA, { pinnedNode: 'node-a', node: 'node-a' }),
      c('training-api', 'deny', 'deny', 'open', { pinnedNode: 'node-b', node: 'node-b' }),
    ];
    const d = diffSnapshots(snap(cells('open'), { perNode: true }), snap(cells('blocked'), { perNode: true }));
    expect(d.changes.map((x) => `${x.node} ${x.change}`)).toEqual(['node-a newly-enforced', 'node-b still-not-enforced']);
    expect(d.changes[1]?.reason).toMatch(/node-b does not enforce them yet/);
  });

  it('refuses snapshots of two scenarios, or one per-node and one not', () => {
    expect(() => diffSnapshots(snap([]), snap([], { scenario: 'other' }), ['a.json', 'b.json'])).toThrow(/a\.json is a snapshot of scenario financial-ml, b\.json of other/);
    expect(() => diffSnapshots(snap([], { perNode: true }), snap([]), ['a.json', 'b.json'])).toThrow(/a\.json was taken --per-node and b\.json was not/);
  });
});

describe('predictChanges (a Flannel baseline: every flow open)', () => {
  const baseline = snap([
    c('dns', 'allow', 'allow', 'open'),
    c('training-api', 'deny', 'deny', 'open'),
    c('mlflow', 'allow', 'deny', 'open', { policyExplanation: ['egress: not admitted'] }),
    c('lb', 'allow', 'unknown', 'open'),
    c('broken', 'allow', 'allow', 'not-run'),
  ]);
  const predicted = predictChanges(baseline);
  it('names the open flows the policies deny: as intended, or against the intent', () => {
    expect(Object.fromEntries(predicted.changes.map((x) => [x.target, x.change]))).toEqual({
      dns: 'unchanged',
      'training-api': 'newly-enforced',
      mlflow: 'regression',
      lb: 'unchanged',
      broken: 'not-compared',
    });
    expect(predicted.mode).toBe('predict');
    expect(predicted.changes.every((x) => x.predicted === true)).toBe(true);
    expect(predicted.changes.find((x) => x.target === 'mlflow')?.policyExplanation).toEqual(['egress: not admitted']);
  });
});

describe('predictChanges on a migration halfway (--migrated)', () => {
  // Per node pair: a denial takes effect where it sits, egress on the source's node, ingress on the destination's.
  const pair = (target: string, node: string, denial: CellVerdict['denial'], extra: Partial<CellVerdict> = {}): CellVerdict =>
    c(target, 'deny', 'deny', 'open', { pinnedNode: node, node, ...(denial ? { denial } : {}), ...extra });
  const baseline = snap([  // the builder's cluster has node-a and node-b
    pair('egress-from-a', 'node-a', { egress: true, ingress: false, ingressNodes: [] }),
    pair('egress-from-b', 'node-b', { egress: true, ingress: false, ingressNodes: [] }),
    pair('ingress-on-a', 'node-b', { egress: false, ingress: true, ingressNodes: ['node-a'] }),
    pair('ingress-on-b', 'node-a', { egress: false, ingress: true, ingressNodes: ['node-b'] }),
    pair('ingress-unplaced', 'node-b', { egress: false, ingress: true, ingressNodes: [] }),
    pair('old-snapshot', 'node-a', undefined),
    c('allowed', 'allow', 'allow', 'open', { pinnedNode: 'node-a', node: 'node-a' }),
  ]);
  it('closes a flow once the node holding its denial enforces, and only then', () => {
    const step = predictChanges(baseline, { enforcing: ['node-a'] });
    expect(Object.fromEntries(step.changes.map((x) => [x.target, x.change]))).toEqual({
      'egress-from-a': 'newly-enforced',
      'egress-from-b': 'still-not-enforced',
      'ingress-on-a': 'newly-enforced',
      'ingress-on-b': 'still-not-enforced',
      'ingress-unplaced': 'not-compared',
      'old-snapshot': 'not-compared',
      allowed: 'unchanged',
    });
    expect(step.enforcing).toEqual(['node-a']);
    expect(step.changes.find((x) => x.target === 'ingress-on-b')?.reason).toMatch(/ingress on node-b/);
  });
  it('predicts every denial enforced once every node is', () => {
    const all = predictChanges(baseline, { enforcing: ['node-a', 'node-b'] });
    expect(all.counts['still-not-enforced']).toBe(0);
    expect(all.counts['newly-enforced']).toBe(6);
  });
  it.each([
    [{ egress: true, ingress: false, ingressNodes: [] }, 'node-b', ['node-b'], true],
    [{ egress: true, ingress: true, ingressNodes: ['node-b'] }, 'node-a', ['node-b'], true],
    [{ egress: false, ingress: true, ingressNodes: ['node-a', 'node-b'] }, 'node-a', ['node-c'], false],
  ])('denialEnforcedBy %j from %s with %j enforcing: %s', (denial, node, enforcing, enforced) => {
    expect(denialEnforcedBy({ denial, node }, new Set(enforcing))).toBe(enforced);
  });
});

describe('describeClusterFacts', () => {
  it('names each node with its cordon and migration labels, and each CNI with its nodes', () => {
    expect(
      describeClusterFacts({
        nodes: [
          { name: 'node-a', labels: { 'projectcalico.org/node-network-during-migration': 'calico', 'kubernetes.io/os': 'linux' }, ready: true, unschedulable: false },
          { name: 'node-b', labels: { 'projectcalico.org/node-network-during-migration': 'flannel' }, ready: true, unschedulable: true },
        ],
        cni: ['calico (DaemonSet kube-system/calico-node): on 1 of 2 nodes (node-a), 1 ready', 'flannel (DaemonSet kube-flannel/kube-flannel-ds): on 1 of 2 nodes (node-b), 1 ready'],
        namespaces: [],
        policies: [],
      }),
    ).toEqual([
      'node node-a: Ready, projectcalico.org/node-network-during-migration=calico',
      'node node-b: Ready, cordoned, projectcalico.org/node-network-during-migration=flannel',
      'CNI: calico (DaemonSet kube-system/calico-node): on 1 of 2 nodes (node-a), 1 ready',
      'CNI: flannel (DaemonSet kube-flannel/kube-flannel-ds): on 1 of 2 nodes (node-b), 1 ready',
    ]);
  });
});

describe('compareFacts', () => {
  it('says how a CNI\'s nodes changed, one line per DaemonSet', () => {
    const base: ClusterFacts = { nodes: [], namespaces: [], policies: [], cni: ['flannel (DaemonSet kube-flannel/kube-flannel-ds): on 2 of 2 nodes, 2 ready'] };
    const step: ClusterFacts = {
      ...base,
      cni: ['calico (DaemonSet kube-system/calico-node): on 1 of 2 nodes (node-a), 1 ready', 'flannel (DaemonSet kube-flannel/kube-flannel-ds): on 1 of 2 nodes (node-b), 1 ready'],
    };
    expect(compareFacts(base, step)).toEqual([
      'CNI: calico (DaemonSet kube-system/calico-node): on 1 of 2 nodes (node-a), 1 ready now',
      'CNI: flannel (DaemonSet kube-flannel/kube-flannel-ds): on 2 of 2 nodes, 2 ready → on 1 of 2 nodes (node-b), 1 ready',
    ]);
  });

  const facts = (nodeLabels: Record<string, string>, extra: Partial<ClusterFacts> = {}): ClusterFacts => ({
    nodes: [{ name: 'node-a', labels: nodeLabels, ready: true, unschedulable: false }],
    cni: ['flannel (DaemonSet kube-flannel/kube-flannel-ds, 2 of 2 scheduled)'],
    namespaces: [{ name: 'kube-system', labels: { name: 'kube-system' } }],
    policies: [{ kind: 'NetworkPolicy', namespace: 'financial-ml', name: 'baseline', resourceVersion: '10' }],
    ...extra,
  });
  it('names migration labels, cordons, CNIs, namespace labels and policy changes', () => {
    const lines = compareFacts(
      facts({}),
      facts({ 'projectcalico.org/node-network-during-migration': 'calico' }, {
        nodes: [{ name: 'node-a', labels: { 'projectcalico.org/node-network-during-migration': 'calico' }, ready: true, unschedulable: true }],
        cni: ['calico (DaemonSet calico-system/calico-node, 1 of 2 scheduled)'],
        namespaces: [{ name: 'kube-system', labels: {} }],
        policies: [{ kind: 'NetworkPolicy', namespace: 'financial-ml', name: 'baseline', resourceVersion: '11' }],
      }),
    );
    expect(lines).toEqual([
      'node node-a: label projectcalico.org/node-network-during-migration=calico added',
      'node node-a: cordoned',
      'CNI: calico (DaemonSet calico-system/calico-node, 1 of 2 scheduled) now',
      'CNI: flannel (DaemonSet kube-flannel/kube-flannel-ds, 2 of 2 scheduled) no more',
      'namespace kube-system: label name=kube-system removed',
      'NetworkPolicy financial-ml/baseline changed',
    ]);
    expect(compareFacts(facts({}), facts({}))).toEqual([]);
  });
});

describe('parseSnapshot', () => {
  const good = JSON.stringify(snap([c('dns', 'allow', 'allow', 'open')]));
  it('reads what toSnapshot wrote', () => {
    expect(parseSnapshot(good, 'a.json').result.cells).toHaveLength(1);
  });
  it.each([
    ['not JSON', '{', /^a\.json: not a netcheck snapshot \(not JSON/],
    ['a run report', JSON.stringify(runResult([])), /^a\.json: not a netcheck snapshot \(a run report \(-o json\), not a snapshot\)/],
    ['another version', good.replace('"netcheck.io/v1alpha1"', '"netcheck.io/v9"'), /^a\.json: snapshot apiVersion "netcheck\.io\/v9" is not one this netcheck reads/],
    ['incomplete', JSON.stringify({ apiVersion: 'netcheck.io/v1alpha1', kind: 'Snapshot' }), /^a\.json: snapshot is incomplete/],
  ])('refuses %s with a line naming the file (exit 2)', (_name, text, message) => {
    let error: unknown;
    try {
      parseSnapshot(text, 'a.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
    expect((error as UsageError).exitCode).toBe(2);
  });
});
