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
  const passingNodes = new Map<string, string[]>();
  for (const c of cells) {
    if (c.node === undefined || !c.pass) continue;
    const key = pairKey(c);
    passingNodes.set(key, [...(passingNodes.get(key) ?? []), c.node]);
  }
  return cells.map((c) => {
    if (c.pass || c.node === undefined || !reattributable.has(c.classification) || !nothingAnswered(c.outcome)) return c;
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
