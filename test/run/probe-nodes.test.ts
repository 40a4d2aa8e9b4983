import { describe, expect, it } from 'vitest';
import { nodeSchedulingOf } from '../../src/cluster/inventory.js';
import { nodeFromObject } from '../../src/policy/from-objects.js';
import { ClusterError, ExitCode } from '../../src/model/errors.js';
import type { NodeInfo } from '../../src/policy/types.js';
import { describeSkippedNodes, selectProbeNodes } from '../../src/run/probe-nodes.js';

/** A core/v1 Node as the API serves it, read the way the inventory reads it. */
function apiNode(name: string, options: { ready?: 'True' | 'False' | 'Unknown'; cordoned?: boolean; os?: string } = {}): NodeInfo {
  const raw = {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': options.os ?? 'linux' } },
    spec: options.cordoned ? { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } : {},
    status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: options.ready ?? 'True' }] },
  };
  return { ...nodeFromObject(raw), ...nodeSchedulingOf(raw) };
}

describe('selectProbeNodes: --per-node pins probes only to nodes that can run them', () => {
  const cases: Array<[string, NodeInfo[], string[], Array<[string, string]>]> = [
    ['all healthy, sorted', [apiNode('node-b'), apiNode('node-a')], ['node-a', 'node-b'], []],
    ['cordoned (drained for a CNI migration)', [apiNode('node-a'), apiNode('node-b', { cordoned: true })], ['node-a'], [['node-b', 'cordoned']]],
    ['kubelet down (Ready Unknown)', [apiNode('node-a', { ready: 'Unknown' }), apiNode('node-b')], ['node-b'], [['node-a', 'NotReady']]],
    ['NotReady and cordoned: NotReady named first', [apiNode('node-a', { ready: 'False', cordoned: true })], [], [['node-a', 'NotReady']]],
    ['windows node', [apiNode('node-a'), apiNode('win-1', { os: 'windows' })], ['node-a'], [['win-1', 'not linux']]],
    // From manifest files nothing is known about readiness: nothing is ruled out.
    ['readiness unknown', [{ name: 'node-a', labels: {} }], ['node-a'], []],
  ];
  it.each(cases)('%s', (_name, nodes, chosen, skipped) => {
    const selected = selectProbeNodes(nodes);
    expect(selected.nodes).toEqual(chosen);
    expect(selected.skipped.map((s) => [s.node, s.why])).toEqual(skipped);
  });

  it('the run says which nodes it skipped and why', () => {
    expect(describeSkippedNodes(selectProbeNodes([apiNode('node-a'), apiNode('node-b', { cordoned: true })]).skipped)).toEqual([
      '--per-node: no probes from node-b (cordoned; --include-cordoned probes it (a pod bound by nodeName runs on a cordoned node))',
    ]);
    expect(describeSkippedNodes([])).toEqual([]);
  });
});

describe('selectProbeNodes: choosing the nodes a migration step is about', () => {
  const migrated = (name: string, extra: { cordoned?: boolean } = {}): NodeInfo => ({
    ...apiNode(name, extra),
    labels: { ...apiNode(name).labels, 'projectcalico.org/node-network-during-migration': 'calico' },
  });
  const nodes = [apiNode('node-a'), migrated('node-b', { cordoned: true }), migrated('node-c'), apiNode('node-d', { ready: 'False' })];

  it('--include-cordoned probes a drained node (pods bound by nodeName run there); NotReady stays out', () => {
    expect(selectProbeNodes(nodes, { includeCordoned: true })).toEqual({ nodes: ['node-a', 'node-b', 'node-c'], skipped: [{ node: 'node-d', why: 'NotReady' }] });
  });
  it('--nodes narrows to exactly those, and names a node the cluster lacks with a suggestion', () => {
    expect(selectProbeNodes(nodes, { names: ['node-c', 'node-a'] })).toEqual({ nodes: ['node-a', 'node-c'], skipped: [] });
    expect(() => selectProbeNodes(nodes, { names: ['node-x', 'nod-a'] })).toThrow(/^--nodes: the cluster has no node node-x/);
    expect(() => selectProbeNodes(nodes, { names: ['nod-a'] })).toThrow(/no node nod-a; did you mean node-a\?/);
  });
  it('--node-selector picks by labels (the migration label), and says so when nothing matches', () => {
    expect(selectProbeNodes(nodes, { selector: { 'projectcalico.org/node-network-during-migration': 'calico' }, includeCordoned: true }).nodes).toEqual(['node-b', 'node-c']);
    expect(() => selectProbeNodes(nodes, { selector: { 'projectcalico.org/node-network-during-migration': 'flannel' } })).toThrow(/^--node-selector projectcalico\.org\/node-network-during-migration=flannel: no node carries these labels/);
  });
});

describe('selectProbeNodes: nodes not visible with these rights (a Role-only run)', () => {
  const hidden = 'forbidden: list nodes';
  it('without --nodes nothing is pinned (the run says so); --nodes is trusted as given', () => {
    expect(selectProbeNodes([], {}, hidden)).toEqual({ nodes: [], skipped: [] });
    expect(selectProbeNodes([], { names: ['node-b', 'node-a'] }, hidden)).toEqual({ nodes: ['node-a', 'node-b'], skipped: [] });
    // Visible nodes: the same names are checked, a missing one is an error.
    expect(() => selectProbeNodes([], { names: ['node-a'] })).toThrow(/the cluster has no node node-a/);
  });
  it('--node-selector cannot be matched: an infrastructure error naming what is not visible', () => {
    let error: unknown;
    try {
      selectProbeNodes([], { selector: { 'projectcalico.org/migrated': 'true' } }, hidden);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as ClusterError).message).toBe('--node-selector projectcalico.org/migrated=true: nodes are not visible with these rights (forbidden: list nodes), so no node can be matched');
    expect((error as ClusterError).exitCode).toBe(ExitCode.Infrastructure);
  });
});
