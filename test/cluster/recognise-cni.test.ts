/** Which CNIs a cluster runs and on which nodes, from its DaemonSets (src/cluster/inventory.ts recogniseCni). */
import { describe, expect, it } from 'vitest';
import { recogniseCni } from '../../src/cluster/inventory.js';

const daemonSet = (namespace: string, name: string, nodeSelector: Record<string, string>, numberReady: number) => ({
  metadata: { namespace, name },
  spec: { template: { spec: { nodeSelector } } },
  status: { desiredNumberScheduled: numberReady, currentNumberScheduled: numberReady, numberReady },
});

const MIGRATION = 'projectcalico.org/node-network-during-migration';

describe('recogniseCni', () => {
  // Halfway through Calico's flannel migration: each DaemonSet selects the nodes carrying its value of the label.
  const nodes = [
    { name: 'node-a', labels: { 'kubernetes.io/os': 'linux', [MIGRATION]: 'calico' } },
    { name: 'node-b', labels: { 'kubernetes.io/os': 'linux', [MIGRATION]: 'flannel' } },
  ];
  const sets = [
    daemonSet('kube-system', 'calico-node', { 'kubernetes.io/os': 'linux', [MIGRATION]: 'calico' }, 1),
    daemonSet('kube-flannel', 'kube-flannel-ds', { [MIGRATION]: 'flannel' }, 1),
    daemonSet('kube-system', 'kube-proxy', {}, 2),
  ];
  it('names the nodes each CNI runs on out of all nodes, not out of the nodes its selector picks', () => {
    expect(recogniseCni(sets, nodes)).toEqual([
      'calico (DaemonSet kube-system/calico-node): on 1 of 2 nodes (node-a), 1 ready',
      'flannel (DaemonSet kube-flannel/kube-flannel-ds): on 1 of 2 nodes (node-b), 1 ready',
    ]);
  });
  it('says every node without listing them when the CNI runs everywhere', () => {
    expect(recogniseCni([daemonSet('kube-flannel', 'kube-flannel-ds', {}, 2)], nodes)).toEqual(['flannel (DaemonSet kube-flannel/kube-flannel-ds): on 2 of 2 nodes, 2 ready']);
  });
  it('falls back to the DaemonSet\'s own counts when the nodes are not readable', () => {
    expect(recogniseCni([sets[0]])).toEqual(['calico (DaemonSet kube-system/calico-node): 1 of 1 scheduled, 1 ready']);
  });
});
