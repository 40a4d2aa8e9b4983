/**
 * Snapshots of runs and what changed between them: the core of validating a CNI migration node by node
 * (Flannel baseline → each node → done). Pure: text and results in, snapshots and diffs out.
 */
import { UsageError } from '../model/errors.js';
import { describeOutcome } from '../model/outcome.js';
import {
  CELL_CHANGE_CLASSES,
  SNAPSHOT_API_VERSION,
  SNAPSHOT_KIND,
  type CellChange,
  type CellChangeClass,
  type CellSide,
  type Snapshot,
  type SnapshotDiff,
  type SnapshotSummary,
} from '../model/snapshot.js';
import type { CellVerdict, ClusterFacts, RunResult } from '../model/verdict.js';

export function toSnapshot(result: RunResult, options: { netcheckVersion: string; perNode: boolean }): Snapshot {
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: SNAPSHOT_KIND,
    netcheckVersion: options.netcheckVersion,
    takenAt: result.finishedAt,
    scenario: result.scenario,
    perNode: options.perNode,
    result,
  };
}

/** A snapshot file's text → the snapshot, or a one-line error naming the file and what is wrong with it. */
export function parseSnapshot(text: string, file: string): Snapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not a netcheck snapshot (not JSON: ${error instanceof Error ? error.message : String(error)})`, {
      hint: 'take one with `netcheck snapshot SCENARIO -o FILE`',
    });
  }
  const o = (typeof value === 'object' && value !== null ? value : {}) as Partial<Snapshot> & Record<string, unknown>;
  if (o.kind !== SNAPSHOT_KIND) {
    const what = o.kind !== undefined ? `kind ${JSON.stringify(o.kind)}` : Array.isArray((o as { cells?: unknown }).cells) ? 'a run report (-o json), not a snapshot' : 'no kind';
    throw new UsageError(`${file}: not a netcheck snapshot (${what})`, { hint: 'take one with `netcheck snapshot SCENARIO -o FILE`, or `netcheck run ... -o snapshot=FILE`' });
  }
  if (o.apiVersion !== SNAPSHOT_API_VERSION) {
    throw new UsageError(`${file}: snapshot apiVersion ${JSON.stringify(o.apiVersion)} is not one this netcheck reads (${SNAPSHOT_API_VERSION})`, {
      hint: 'take the snapshot again with this version of netcheck',
    });
  }
  const result = o.result as RunResult | undefined;
  if (typeof o.scenario !== 'string' || typeof o.perNode !== 'boolean' || typeof o.takenAt !== 'string' || !result || !Array.isArray(result.cells)) {
    throw new UsageError(`${file}: snapshot is incomplete (scenario, perNode, takenAt and result.cells are required)`, { hint: 'take the snapshot again' });
  }
  return o as Snapshot;
}

const cellKey = (c: { source: string; target: string; pinnedNode?: string; targetNode?: string }): string =>
  `${c.source}\u0000${c.target}\u0000${c.pinnedNode ?? ''}\u0000${c.targetNode ?? ''}`;

function side(cell: CellVerdict): CellSide {
  return {
    path: cell.path ?? 'not-run',
    observed: cell.path === undefined ? `not run (${cell.reason})` : describeOutcome(cell.outcome),
    policy: cell.policy,
    classification: cell.classification,
    ...(cell.node !== undefined ? { node: cell.node } : {}),
  };
}

function summaryOf(snapshot: Snapshot): SnapshotSummary {
  const { result } = snapshot;
  return {
    takenAt: snapshot.takenAt,
    ...(result.cluster.context !== undefined ? { context: result.cluster.context } : {}),
    ...(result.cluster.server !== undefined ? { server: result.cluster.server } : {}),
    ...(result.facts?.cni !== undefined ? { cni: result.facts.cni } : {}),
    nodes: result.cluster.nodes,
  };
}

/** Two snapshots of one scenario, taken the same way; anything else is bad input (exit 2). */
function assertComparable(before: Snapshot, after: Snapshot, files: [string, string]): void {
  if (before.scenario !== after.scenario) {
    throw new UsageError(`${files[0]} is a snapshot of scenario ${before.scenario}, ${files[1]} of ${after.scenario}: only snapshots of one scenario compare`);
  }
  if (before.perNode !== after.perNode) {
    const [per, single] = before.perNode ? files : [files[1], files[0]];
    throw new UsageError(`${per} was taken --per-node and ${single} was not: take both the same way`, { hint: 'per-node cells are per (source, target, node)' });
  }
}

/** Every cell of BEFORE and AFTER, classified by how it changed. */
export function diffSnapshots(before: Snapshot, after: Snapshot, files: [string, string] = ['BEFORE', 'AFTER']): SnapshotDiff {
  assertComparable(before, after, files);
  const afterCells = new Map(after.result.cells.map((c) => [cellKey(c), c]));
  const beforeKeys = new Set(before.result.cells.map(cellKey));
  const changes: CellChange[] = [];
  for (const b of before.result.cells) {
    const a = afterCells.get(cellKey(b));
    changes.push(a ? compareCell(b, a) : { ...identity(b), change: 'removed', reason: 'in BEFORE only: the scenario or the nodes changed', before: side(b) });
  }
  for (const a of after.result.cells) {
    if (!beforeKeys.has(cellKey(a))) changes.push({ ...identity(a), change: 'added', reason: 'in AFTER only: the scenario or the nodes changed', after: side(a) });
  }
  return finish({
    scenario: before.scenario,
    mode: 'diff',
    perNode: before.perNode,
    before: summaryOf(before),
    after: summaryOf(after),
    changes,
    factChanges: compareFacts(before.result.facts, after.result.facts),
    ...(after.result.facts !== undefined ? { facts: describeClusterFacts(after.result.facts) } : {}),
  });
}

export interface PredictOptions {
  /**
   * The nodes that will enforce the policies at the step predicted (a migration halfway: the nodes moved to
   * Calico so far); absent: every node. A denial takes effect once its node enforces (see `denialEnforcedBy`).
   */
  enforcing?: readonly string[];
}

/**
 * Does a set of nodes enforce this cell's denial: the egress denial on the source's node, or the ingress denial on
 * a destination pod's node (Calico's felix applies a workload's egress rules where it sends, its ingress rules
 * where it receives). `undefined` when the cell does not say where it is denied (no denial recorded, or an
 * ingress-only denial toward a pod whose node is not known).
 */
export function denialEnforcedBy(cell: Pick<CellVerdict, 'denial' | 'pinnedNode' | 'node'>, enforcing: ReadonlySet<string>): boolean | undefined {
  const denial = cell.denial;
  if (denial === undefined) return undefined;
  const source = cell.pinnedNode ?? cell.node;
  if (denial.egress && source !== undefined && enforcing.has(source)) return true;
  if (denial.ingress && denial.ingressNodes.some((n) => enforcing.has(n))) return true;
  const unplaced = (denial.egress && source === undefined) || (denial.ingress && denial.ingressNodes.length === 0);
  return unplaced ? undefined : false;
}

/** Where the policies stop this flow, in words: "egress on node-a, ingress on node-b". */
export function describeDenial(cell: Pick<CellVerdict, 'denial' | 'pinnedNode' | 'node'>): string | undefined {
  const denial = cell.denial;
  if (denial === undefined) return undefined;
  const parts: string[] = [];
  if (denial.egress) parts.push(`egress on ${cell.pinnedNode ?? cell.node ?? 'the source\'s node'}`);
  if (denial.ingress) parts.push(`ingress on ${denial.ingressNodes.join(', ') || 'the destination\'s node'}`);
  return parts.join(', ');
}

/**
 * One snapshot (typically the Flannel baseline, where every flow is open): the cells that will change once
 * the policies are enforced — open flows the policies deny — on every node, or on `options.enforcing` only.
 * Pods a drain moves take their ingress denials with them: the prediction places them where BEFORE saw them.
 */
export function predictChanges(before: Snapshot, options: PredictOptions = {}): SnapshotDiff {
  const named = options.enforcing !== undefined ? new Set(options.enforcing) : undefined;
  // Every node the snapshot knows enforcing is the whole migration: where a denial sits no longer matters.
  const everyNode = named !== undefined && before.result.cluster.nodes.length > 0 && before.result.cluster.nodes.every((n) => named.has(n));
  const enforcing = everyNode ? undefined : named;
  const changes = before.result.cells.map((b): CellChange => {
    const base = { ...identity(b), before: side(b), predicted: true as const, ...(b.policyExplanation?.length ? { policyExplanation: b.policyExplanation } : {}) };
    if (b.path === undefined || b.path === 'unknown') return { ...base, change: 'not-compared', reason: noReading(b, 'BEFORE') };
    if (b.path === 'open' && b.policy === 'deny' && enforcing !== undefined) {
      const enforced = denialEnforcedBy(b, enforcing);
      const where = describeDenial(b);
      if (enforced === undefined) {
        return { ...base, change: 'not-compared', reason: `open today and the policies deny it, but BEFORE does not record where (${where ?? 'taken by an older netcheck'}): whether ${[...enforcing].join(', ') || 'no node'} will enforce it is not known` };
      }
      if (!enforced) {
        return { ...base, change: 'still-not-enforced', reason: `open today; the policies deny it (${where}), but none of those nodes will enforce yet` };
      }
    }
    if (b.path === 'open' && b.policy === 'deny') {
      return b.expect === 'allow'
        ? { ...base, change: 'regression', reason: 'open today, and the policies deny it: it will be blocked once they are enforced, although the intent is allow' }
        : { ...base, change: 'newly-enforced', reason: 'open today, and the policies deny it: it will be blocked once they are enforced, as intended' };
    }
    if (b.path === 'blocked' && b.policy === 'allow') {
      return { ...base, change: 'unchanged', reason: 'blocked today although the policies allow it: enforcing them will not open it (look at the data plane)' };
    }
    if (b.policy === 'unknown') return { ...base, change: 'unchanged', reason: `${b.path} today; the policies cannot decide this flow, so no change is predicted` };
    return { ...base, change: 'unchanged', reason: `${b.path} today, as the policies say (${b.policy})` };
  });
  return finish({
    scenario: before.scenario,
    mode: 'predict',
    perNode: before.perNode,
    before: summaryOf(before),
    ...(options.enforcing !== undefined ? { enforcing: [...options.enforcing].sort() } : {}),
    changes,
    factChanges: [],
    ...(before.result.facts !== undefined ? { facts: describeClusterFacts(before.result.facts) } : {}),
  });
}

function identity(c: CellVerdict): Pick<CellChange, 'source' | 'target' | 'node' | 'targetNode' | 'expect' | 'known'> {
  return {
    source: c.source,
    target: c.target,
    ...(c.pinnedNode !== undefined ? { node: c.pinnedNode } : {}),
    ...(c.targetNode !== undefined ? { targetNode: c.targetNode } : {}),
    expect: c.expect,
    ...(c.known !== undefined ? { known: c.known } : {}),
  };
}

function noReading(c: CellVerdict, which: string): string {
  return c.path === undefined ? `not run in ${which}: ${c.reason}` : `no reading of the path in ${which} (${describeOutcome(c.outcome)}): ${c.reason}`;
}

function compareCell(b: CellVerdict, a: CellVerdict): CellChange {
  const base = {
    ...identity(a),
    before: side(b),
    after: side(a),
    ...(a.policyExplanation?.length ? { policyExplanation: a.policyExplanation } : {}),
  };
  const missing = [b, a].findIndex((c) => c.path === undefined || c.path === 'unknown');
  if (missing >= 0) return { ...base, change: 'not-compared', reason: noReading(missing === 0 ? b : a, missing === 0 ? 'BEFORE' : 'AFTER') };
  const allow = a.expect === 'allow';
  const policyNote = a.policy === 'unknown' ? '' : ` (the policies say ${a.policy})`;
  if (b.path === 'open' && a.path === 'blocked') {
    return allow
      ? { ...base, change: 'regression', reason: `was open, now blocked, but the intent is allow${policyNote}${a.known !== undefined ? `; the scenario's known gap: ${a.known}` : ''}` }
      : { ...base, change: 'newly-enforced', reason: `was open, now blocked, as intended (deny)${policyNote}` };
  }
  if (b.path === 'blocked' && a.path === 'open') {
    return allow
      ? { ...base, change: 'opened', reason: `was blocked, now open, as intended (allow)${policyNote}` }
      : { ...base, change: 'regression', reason: `was blocked, now open, but the intent is deny${policyNote}: enforcement was lost` };
  }
  if (a.path === 'open' && a.policy === 'deny') {
    const where = describeDenial(a);
    const nodes = where !== undefined ? `the nodes that hold the denial (${where}) do not` : `${a.pinnedNode ?? a.node ?? 'its node'} does not`;
    return { ...base, change: 'still-not-enforced', reason: `open both times although the policies deny it: ${nodes} enforce them yet, or the CNI ignores this policy` };
  }
  return { ...base, change: 'unchanged', reason: `${a.path} both times` };
}

function finish(diff: Omit<SnapshotDiff, 'counts'>): SnapshotDiff {
  const rank = (c: CellChange): number => CELL_CHANGE_CLASSES.indexOf(c.change);
  const changes = [...diff.changes].sort((x, y) => rank(x) - rank(y));
  const counts = Object.fromEntries(CELL_CHANGE_CLASSES.map((k) => [k, 0])) as Record<CellChangeClass, number>;
  for (const c of changes) counts[c.change]++;
  return { ...diff, changes, counts };
}

/** Node labels, CNIs, namespace labels and policies that changed between two snapshots, one line each. */
export function compareFacts(before: ClusterFacts | undefined, after: ClusterFacts | undefined): string[] {
  if (!before || !after) return before === after ? [] : ['cluster facts are missing from one snapshot: cluster changes not compared'];
  const lines: string[] = [];
  const labels = (kind: string, name: string, b: Record<string, string>, a: Record<string, string>): void => {
    for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
      if (b[key] === a[key]) continue;
      if (b[key] === undefined) lines.push(`${kind} ${name}: label ${key}=${a[key]} added`);
      else if (a[key] === undefined) lines.push(`${kind} ${name}: label ${key}=${b[key]} removed`);
      else lines.push(`${kind} ${name}: label ${key} ${b[key]} → ${a[key]}`);
    }
  };
  const byName = <T extends { name: string }>(list: T[]) => new Map(list.map((x) => [x.name, x]));
  const nb = byName(before.nodes);
  const na = byName(after.nodes);
  for (const [name, a] of na) {
    const b = nb.get(name);
    if (!b) {
      lines.push(`node ${name} added`);
      continue;
    }
    labels('node', name, b.labels, a.labels);
    if (b.unschedulable !== a.unschedulable && a.unschedulable !== undefined) lines.push(`node ${name}: ${a.unschedulable ? 'cordoned' : 'uncordoned'}`);
    if (b.ready !== a.ready && a.ready !== undefined) lines.push(`node ${name}: ${a.ready ? 'Ready' : 'not Ready'}`);
  }
  for (const name of nb.keys()) if (!na.has(name)) lines.push(`node ${name} removed`);
  if (before.cni !== undefined && after.cni !== undefined) {
    // One line per DaemonSet: "flannel (DaemonSet …): on 2 of 2 nodes → on 1 of 2 nodes (node-b)".
    const key = (c: string): string => c.split('): ')[0] ?? c;
    const where = (c: string): string => c.slice(key(c).length + 3);
    const cb = new Map(before.cni.map((c) => [key(c), c]));
    const ca = new Map(after.cni.map((c) => [key(c), c]));
    for (const [k, a] of ca) {
      const b = cb.get(k);
      if (b === undefined) lines.push(`CNI: ${a} now`);
      else if (b !== a) lines.push(`CNI: ${k}): ${where(b) || '?'} → ${where(a) || '?'}`);
    }
    for (const [k, b] of cb) if (!ca.has(k)) lines.push(`CNI: ${b} no more`);
  }
  const sb = byName(before.namespaces);
  for (const [name, a] of byName(after.namespaces)) {
    const b = sb.get(name);
    if (b) labels('namespace', name, b.labels, a.labels);
  }
  const policyKey = (p: ClusterFacts['policies'][number]) => `${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}`;
  const pb = new Map(before.policies.map((p) => [policyKey(p), p]));
  const pa = new Map(after.policies.map((p) => [policyKey(p), p]));
  for (const [key, a] of pa) {
    const b = pb.get(key);
    if (!b) lines.push(`${key} added`);
    else if (b.resourceVersion !== undefined && a.resourceVersion !== undefined && b.resourceVersion !== a.resourceVersion) lines.push(`${key} changed`);
  }
  for (const key of pb.keys()) if (!pa.has(key)) lines.push(`${key} removed`);
  return lines;
}

/** Node labels a CNI migration is followed by (Calico's flannel migration controller sets and removes them). */
const MIGRATION_LABEL = /(^|\/)[^=]*migration/;

/**
 * The cluster facts of one snapshot, one line each: every node (Ready, cordoned, its migration labels) and every
 * CNI with the nodes it runs on — what a migration step is checked against ("node-b left cordoned").
 */
export function describeClusterFacts(facts: ClusterFacts): string[] {
  const lines = facts.nodes.map((n) => {
    const state = [n.ready === undefined ? undefined : n.ready ? 'Ready' : 'NotReady', n.unschedulable === true ? 'cordoned' : undefined].filter(Boolean);
    const labels = Object.entries(n.labels).filter(([k]) => MIGRATION_LABEL.test(k)).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
    return `node ${n.name}: ${[...state, ...labels].join(', ') || 'no state known'}`;
  });
  if (facts.cni === undefined) lines.push('CNI: not known (DaemonSets not readable)');
  else if (facts.cni.length === 0) lines.push('CNI: none recognised by its DaemonSet');
  else for (const c of facts.cni) lines.push(`CNI: ${c}`);
  return lines;
}
