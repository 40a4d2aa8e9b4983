/**
 * Per-node runs (`--per-node`): a check that fails from one node but passes from another is that node's data
 * plane. Policies, DNS and the target are the same whichever node the probe stands on, so a DNS timeout or a
 * dropped connection seen only from node X is not "cluster DNS is down" nor a policy verdict. Pure.
 */
import { describeOutcome, type Outcome } from '../model/outcome.js';
import type { CellVerdict, Classification } from '../model/verdict.js';

/**
 * Failures that a broken node explains: nothing answered. A DNS answer proves the path works; a refusal is left
 * out too, as it may be the destination's own (one endpoint pod not listening), not the node's.
 */
const silentOutcomes = new Set<string>(['timeout', 'unreachable', 'dns-timeout']);

/** Did nothing answer at all? Only such a failure is re-attributed to the node it was seen from. */
export function nothingAnswered(outcome: Outcome): boolean {
  return silentOutcomes.has(outcome.kind);
}
/** Verdicts that blame something node-independent; policy gaps, known gaps and probe faults keep their own reason. */
const reattributable = new Set<Classification>(['dns', 'data-plane', 'unknown']);

/** Returns the cells with node-only failures classified `data-plane`, in the same order; others untouched. */
export function attributeNodeFaults(cells: readonly CellVerdict[]): CellVerdict[] {
  const pairOf = new Map(findBrokenNodePairs(cells).flatMap((p) => p.cells.map((c) => [c, p.nodes] as const)));
  const passingNodes = new Map<string, string[]>();
  for (const c of cells) {
    if (c.node === undefined || !c.pass) continue;
    const key = pairKey(c);
    passingNodes.set(key, [...(passingNodes.get(key) ?? []), c.node]);
  }
  return cells.map((c) => {
    if (c.pass || c.node === undefined || !reattributable.has(c.classification) || !nothingAnswered(c.outcome)) return c;
    const pair = pairOf.get(c);
    if (pair !== undefined) {
      const { findings: _disproved, ...rest } = c;
      return {
        ...rest,
        classification: 'data-plane',
        reason:
          `fails between node ${pair[0]} and node ${pair[1]} (${describeOutcome(c.outcome)}) while checks within each pass: ` +
          'the path between these two nodes drops it, not DNS, the policies or either node alone',
      };
    }
    const elsewhere = (passingNodes.get(pairKey(c)) ?? []).filter((n) => n !== c.node).sort();
    if (elsewhere.length === 0) return c;
    // The cell's findings blamed something node-independent (DNS down, policy); passing elsewhere rules that out.
    const { findings: _disproved, ...rest } = c;
    return {
      ...rest,
      classification: 'data-plane',
      reason:
        `fails from node ${c.node} (${describeOutcome(c.outcome)}) but passes from ${elsewhere.join(', ')}: ` +
        `the data plane of node ${c.node} drops it, not DNS or the policies`,
    };
  });
}

/** A (source, target) pair — to one listener node, when listeners are per node: the cells one check produces from every node it ran on. */
export function pairKey(c: Pick<CellVerdict, 'source' | 'target' | 'targetNode'>): string {
  return `${c.source}\u0000${c.target}\u0000${c.targetNode ?? ''}`;
}

/** Two nodes whose pods cannot reach each other while each node's own pods reach each other. */
export interface BrokenNodePair {
  nodes: [string, string];
  /** The failing checks between them (per-node listener cells: source node → listener node). */
  cells: CellVerdict[];
}

/**
 * Node pairs whose path is broken (per-node runs, listener targets: the only cells whose destination node is
 * known): every check between the two nodes that the policies allow gets no answer, while a check within each of
 * the two nodes passes. Neither node is broken as a whole — the path between them is (an overlay's tunnel between
 * two nodes, e.g. VXLAN dropped, or a migrated and an unmigrated node that do not interoperate).
 */
export function findBrokenNodePairs(cells: readonly CellVerdict[]): BrokenNodePair[] {
  const placed = cells.filter((c) => c.node !== undefined && c.targetNode !== undefined);
  const withinPasses = new Set(placed.filter((c) => c.pass && c.node === c.targetNode).map((c) => c.node as string));
  const byPair = new Map<string, CellVerdict[]>();
  for (const c of placed) {
    if (c.node === c.targetNode || c.policy !== 'allow') continue;
    const key = [c.node as string, c.targetNode as string].sort().join('\u0000');
    byPair.set(key, [...(byPair.get(key) ?? []), c]);
  }
  const broken: BrokenNodePair[] = [];
  for (const [key, between] of [...byPair].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [x, y] = key.split('\u0000') as [string, string];
    if (!withinPasses.has(x) || !withinPasses.has(y)) continue;
    if (between.every((c) => !c.pass && nothingAnswered(c.outcome))) broken.push({ nodes: [x, y], cells: between });
  }
  return broken;
}
