/**
 * Which nodes a `--per-node` run pins probe pods (and listeners) to (pure). `nodeName` bypasses the scheduler, so
 * nothing stops a pod bound to a NotReady node (it never starts: the run waits out its budget) — those are
 * skipped, and the run says so. A cordoned node does run a pod bound to it by nodeName (cordoning only keeps the
 * scheduler away), and drain → switch CNI → verify → uncordon needs exactly that check, so `includeCordoned`
 * probes it; by default it is skipped (the operator asked for no new pods there). `names` and `selector` narrow
 * the set to the nodes a migration step is about.
 */
import { ClusterError, UsageError } from '../model/errors.js';
import type { Labels, NodeInfo } from '../policy/types.js';
import { findNearestName } from '../scenario/nearest-name.js';

export interface SkippedNode {
  node: string;
  why: 'NotReady' | 'cordoned' | 'not linux';
}

export interface ProbeNodes {
  /** Names, sorted. */
  nodes: string[];
  skipped: SkippedNode[];
}

export interface NodeSelection {
  /** `--nodes a,b`: exactly these (each must exist). */
  names?: readonly string[];
  /** `--node-selector key=value,...`: nodes carrying every one of these labels. */
  selector?: Labels;
  /** `--include-cordoned`: probe cordoned nodes too (pods bound by nodeName run there). */
  includeCordoned?: boolean;
}

/**
 * `hidden`: nodes could not be read with these rights (why, e.g. "forbidden: list nodes"). Then names given with
 * `--nodes` are trusted as given (a wrong one leaves its probe pods pending until the budget), a selector cannot be
 * matched (an error saying so), and without either no node is chosen: the run says it could not pin.
 */
export function selectProbeNodes(nodes: readonly NodeInfo[], selection: NodeSelection = {}, hidden?: string): ProbeNodes {
  if (hidden !== undefined) {
    if (selection.selector !== undefined) {
      const text = Object.entries(selection.selector).map(([k, v]) => `${k}=${v}`).join(',');
      throw new ClusterError(`--node-selector ${text}: nodes are not visible with these rights (${hidden}), so no node can be matched`, { resource: 'nodes', verb: 'list', reason: 'Forbidden' }, {
        hint: 'name the nodes with --nodes, or ask the platform team to run `kubectl get nodes --show-labels` (or grant `list nodes`: deploy/rbac/clusterrole.yaml)',
      });
    }
    return { nodes: [...new Set(selection.names ?? [])].sort(), skipped: [] };
  }
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (selection.names !== undefined) {
    const known = sorted.map((n) => n.name);
    for (const name of selection.names) {
      if (!known.includes(name)) {
        const near = findNearestName(name, known);
        throw new UsageError(`--nodes: the cluster has no node ${name}${near ? `; did you mean ${near}?` : ''}`, { hint: `nodes: ${known.join(', ') || '(none)'}` });
      }
    }
  }
  const wanted = sorted.filter(
    (n) =>
      (selection.names === undefined || selection.names.includes(n.name)) &&
      Object.entries(selection.selector ?? {}).every(([key, value]) => n.labels[key] === value),
  );
  if (wanted.length === 0 && selection.selector !== undefined) {
    const text = Object.entries(selection.selector).map(([k, v]) => `${k}=${v}`).join(',');
    throw new UsageError(`--node-selector ${text}: no node carries these labels`, { hint: `nodes: ${sorted.map((n) => n.name).join(', ') || '(none)'}; kubectl get nodes --show-labels` });
  }
  const chosen: string[] = [];
  const skipped: SkippedNode[] = [];
  for (const node of wanted) {
    const os = node.labels['kubernetes.io/os'];
    // `ready`/`unschedulable` are undefined when unknown: only what the API said rules a node out.
    if (node.ready === false) skipped.push({ node: node.name, why: 'NotReady' });
    else if (node.unschedulable === true && selection.includeCordoned !== true) skipped.push({ node: node.name, why: 'cordoned' });
    // The agent image is a Linux image; a Windows node cannot run it.
    else if (os !== undefined && os !== 'linux') skipped.push({ node: node.name, why: 'not linux' });
    else chosen.push(node.name);
  }
  return { nodes: chosen, skipped };
}

/** One line for the run's findings, or none. */
export function describeSkippedNodes(skipped: readonly SkippedNode[]): string[] {
  if (skipped.length === 0) return [];
  const why: Record<SkippedNode['why'], string> = {
    NotReady: 'a pod bound there would never start',
    cordoned: 'cordoned; --include-cordoned probes it (a pod bound by nodeName runs on a cordoned node)',
    'not linux': 'the probe image is a Linux image',
  };
  return [`--per-node: no probes from ${skipped.map((s) => `${s.node} (${why[s.why]})`).join(', ')}`];
}
