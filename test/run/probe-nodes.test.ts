import { describe, expect, it } from 'vitest';
import { nodeSchedulingOf } from '../../src/cluster/inventory.js';
import { nodeFromObject } from '../../src/policy/from-objects.js';
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
      '--per-node: no probes from node-b (cordoned): pods pinned there would not run or would test a node taken out of service',
    ]);
    expect(describeSkippedNodes([])).toEqual([]);
  });
});
