/**
 * The pod-to-pod matrix of a snapshot (pure): one cell per ordered pod pair (self pairs included) and port.
 * Without a port query, each destination is evaluated on every port it declares; with a name, the name is
 * resolved per destination, and a destination that does not declare it is not reachable on it.
 */
import { classMatrices } from './classes.js';
import { podKey, type PolicyEngine } from './engine.js';
import { compareByNamespaceName, compareStrings } from './from-objects.js';
import { resolvePort, type PortQuery } from './ports.js';
import type { ClusterSnapshot, DirectionVerdict, PodInfo, Protocol } from './types.js';

export interface AnalyzeOptions {
  /** Number or port name; absent = every port each destination declares. */
  port?: PortQuery;
  /** Protocol of the query; without `port`, restricts declared ports to it when given. */
  protocol?: Protocol;
  /** Attach per-direction explanations to each cell (costlier; the JSON report wants them). */
  explain?: boolean;
}

export interface CellDirection {
  allowed: boolean;
  reason: DirectionVerdict['reason'];
  isolatedBy: string[];
  admittedBy: string[];
  /** The AdminNetworkPolicy / BaselineAdminNetworkPolicy rule that decided, when one did. */
  decidedBy?: string;
  /** The AdminNetworkPolicy rule that passed the flow on to NetworkPolicies. */
  passedBy?: string;
}

export interface AnalysisCell {
  from: string;
  to: string;
  /** Evaluated destination port; null when a named port does not resolve on the destination. */
  port: number | null;
  /** The port name asked for, when the query was a name. */
  portName?: string;
  protocol: Protocol;
  allowed: boolean;
  egress?: CellDirection;
  ingress?: CellDirection;
  /** Calico policies that may decide this cell instead (with explanations only). */
  mayBeDecidedBy?: string[];
  /** Admin-policy rules whose match the input cannot settle and that would change the cell (with explanations only). */
  dependsOn?: string[];
}

/** A destination port column: what the table shows per destination. */
export interface DestinationPort {
  port: number | null;
  portName?: string;
  protocol: Protocol;
}

export interface Analysis {
  /** Pods sorted by namespace, then name. */
  pods: PodInfo[];
  /** Ports evaluated per destination pod (same order as `pods`). */
  destinationPorts: DestinationPort[][];
  /** Cells ordered by from, to, then the destination's port order. */
  cells: AnalysisCell[];
}

function toCellDirection(d: DirectionVerdict): CellDirection {
  const cell: CellDirection = { allowed: d.allowed, reason: d.reason, isolatedBy: d.isolatedBy, admittedBy: d.admittedBy.map((a) => a.text) };
  if (d.decidedBy) cell.decidedBy = d.decidedBy.text;
  if (d.passedBy) cell.passedBy = d.passedBy.text;
  return cell;
}

function destinationPortsOf(pod: PodInfo, options: AnalyzeOptions): DestinationPort[] {
  const protocol = options.protocol ?? 'TCP';
  if (options.port !== undefined) {
    if (typeof options.port === 'number') return [{ port: options.port, protocol }];
    return [{ port: resolvePort(options.port, pod.ports, protocol) ?? null, portName: options.port, protocol }];
  }
  const seen = new Set<string>();
  const out: DestinationPort[] = [];
  for (const p of pod.ports) {
    if (options.protocol && p.protocol !== options.protocol) continue;
    const key = `${p.containerPort}/${p.protocol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ port: p.containerPort, protocol: p.protocol });
  }
  return out.sort((a, b) => (a.port ?? 0) - (b.port ?? 0) || compareStrings(a.protocol, b.protocol));
}

/** What analyze computes before rendering: pods in output order, their ports, and verdicts over pod classes. */
export interface PreparedAnalysis {
  /** Pods sorted by namespace, then name. */
  pods: PodInfo[];
  /** Ports evaluated per destination pod (same order as `pods`). */
  destinationPorts: DestinationPort[][];
  /** Cells of the whole matrix: every ordered pod pair × each destination port. */
  cellCount: number;
  /** The pod class of each pod (same order as `pods`): pods of one class have the same verdicts. */
  classOf: Int32Array;
  /** Whether pods[from] may reach pods[to] on the destination port (positions in `pods`). */
  allowed(from: number, to: number, dp: DestinationPort): boolean;
  /** The same test for one port, looked up once: for loops over many pairs. */
  verdicts(dp: DestinationPort): (from: number, to: number) => boolean;
  /** One cell, with its explanation when asked (computed now, for this cell only). */
  cell(from: number, to: number, dp: DestinationPort, explain: boolean): AnalysisCell;
}

export function queryOf(dp: DestinationPort): PortQuery {
  return dp.portName ?? (dp.port as number);
}

/**
 * Verdicts come from the class matrices (src/policy/classes.ts); explanations from `engine` (any engine of the
 * snapshot's policies explains any pod: a representatives-only engine is enough), only for the cells rendered.
 */
export function prepareAnalysis(snapshot: ClusterSnapshot, options: AnalyzeOptions = {}, engine?: PolicyEngine): PreparedAnalysis {
  const matrices = classMatrices(snapshot);
  const explainer = engine ?? matrices.engine;
  const index = snapshot.pods.map((_, i) => i).sort((a, b) => compareByNamespaceName(snapshot.pods[a] as PodInfo, snapshot.pods[b] as PodInfo));
  const pods = index.map((i) => snapshot.pods[i] as PodInfo);
  const destinationPorts = pods.map((pod) => destinationPortsOf(pod, options));
  const classOf = Int32Array.from(index, (i) => matrices.classes.classOf[i] as number);
  const classes = matrices.classes.reps.length;
  const never = (): boolean => false;
  // Per port object (each pod's list holds its own), so a loop over pairs pays the matrix lookup once per port.
  const looked = new WeakMap<DestinationPort, (from: number, to: number) => boolean>();
  const verdicts = (dp: DestinationPort): ((from: number, to: number) => boolean) => {
    if (dp.port === null) return never;
    let test = looked.get(dp);
    if (!test) {
      const cells = matrices.matrix(queryOf(dp), dp.protocol).allowed;
      test = (from, to) => cells[(classOf[from] as number) * classes + (classOf[to] as number)] === 1;
      looked.set(dp, test);
    }
    return test;
  };
  const allowed = (from: number, to: number, dp: DestinationPort): boolean => verdicts(dp)(from, to);
  const perSource = destinationPorts.reduce((sum, d) => sum + d.length, 0);
  return {
    pods,
    destinationPorts,
    cellCount: pods.length * perSource,
    classOf,
    allowed,
    verdicts,
    cell: (from, to, dp, explain) => {
      const src = pods[from] as PodInfo;
      const dst = pods[to] as PodInfo;
      const cell: AnalysisCell = { from: podKey(src), to: podKey(dst), port: dp.port, protocol: dp.protocol, allowed: allowed(from, to, dp) };
      if (dp.portName !== undefined) cell.portName = dp.portName;
      if (explain) {
        const v = explainer.evaluateFlow({ kind: 'pod', pod: src }, { kind: 'pod', pod: dst }, queryOf(dp), dp.protocol);
        cell.egress = toCellDirection(v.egress);
        cell.ingress = toCellDirection(v.ingress);
        if (v.mayBeDecidedBy) cell.mayBeDecidedBy = v.mayBeDecidedBy.map((m) => m.text);
        if (v.dependsOn) cell.dependsOn = v.dependsOn;
      }
      return cell;
    },
  };
}

/** Cells ordered by from, to, then the destination's port order; only the rows and columns given (default all). */
export function* analysisCells(
  prepared: PreparedAnalysis,
  explain: boolean,
  rows: readonly number[] = prepared.pods.map((_, i) => i),
  columns: readonly number[] = rows.length === prepared.pods.length ? rows : prepared.pods.map((_, i) => i),
): Generator<AnalysisCell> {
  for (const from of rows) {
    for (const to of columns) {
      for (const dp of prepared.destinationPorts[to] ?? []) yield prepared.cell(from, to, dp, explain);
    }
  }
}

export function analyzeSnapshot(snapshot: ClusterSnapshot, options: AnalyzeOptions = {}, engine?: PolicyEngine): Analysis {
  const prepared = prepareAnalysis(snapshot, options, engine);
  return { pods: prepared.pods, destinationPorts: prepared.destinationPorts, cells: [...analysisCells(prepared, options.explain === true)] };
}
