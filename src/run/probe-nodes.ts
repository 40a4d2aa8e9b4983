/**
 * Which nodes a `--per-node` run pins probe pods to (pure). `nodeName` bypasses the scheduler, so nothing
 * stops a pod bound to a NotReady node (it never starts: the run waits out its budget) or to a cordoned
 * one (a CNI migration drains nodes one by one; a drained node's data plane may be half torn down, and the
 * operator asked for no new pods there). Those nodes are skipped, and the run says so.
 */
import type { NodeInfo } from '../policy/types.js';

export interface SkippedNode {
  node: string;
  why: 'NotReady' | 'cordoned' | 'not linux';
}

export interface ProbeNodes {
  /** Names, sorted. */
  nodes: string[];
  skipped: SkippedNode[];
}

export function selectProbeNodes(nodes: readonly NodeInfo[]): ProbeNodes {
  const chosen: string[] = [];
  const skipped: SkippedNode[] = [];
  for (const node of [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const os = node.labels['kubernetes.io/os'];
    // `ready`/`unschedulable` are undefined when unknown: only what the API said rules a node out.
    if (node.ready === false) skipped.push({ node: node.name, why: 'NotReady' });
    else if (node.unschedulable === true) skipped.push({ node: node.name, why: 'cordoned' });
    // The agent image is a Linux image; a Windows node cannot run it.
    else if (os !== undefined && os !== 'linux') skipped.push({ node: node.name, why: 'not linux' });
    else chosen.push(node.name);
  }
  return { nodes: chosen, skipped };
}

/** One line for the run's findings, or none. */
export function describeSkippedNodes(skipped: readonly SkippedNode[]): string[] {
  if (skipped.length === 0) return [];
  const list = skipped.map((s) => `${s.node} (${s.why})`).join(', ');
  return [`--per-node: no probes from ${list}: pods pinned there would not run or would test a node taken out of service`];
}
