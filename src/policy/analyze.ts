/**
 * The pod-to-pod matrix of a snapshot (pure): one cell per ordered pod pair (self pairs included) and port.
 * Without a port query, each destination is evaluated on every port it declares; with a name, the name is
 * resolved per destination, and a destination that does not declare it is not reachable on it.
 */
import { createPolicyEngine, podKey, type FlowMatrix, type PolicyEngine } from './engine.js';
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

export function analyzeSnapshot(
  snapshot: ClusterSnapshot,
  options: AnalyzeOptions = {},
  engine: PolicyEngine = createPolicyEngine(snapshot),
): Analysis {
  const snapshotPods = engine.snapshot.pods;
  const order = snapshotPods
    .map((pod, index) => ({ pod, index }))
    .sort((a, b) => compareByNamespaceName(a.pod, b.pod));
  const destinationPorts = order.map(({ pod }) => destinationPortsOf(pod, options));
  // One fast matrix per distinct (port, protocol) query; explanations only when asked for.
  const matrices = new Map<string, FlowMatrix>();
  const matrixFor = (query: PortQuery, protocol: Protocol): FlowMatrix => {
    const key = `${query}/${protocol}`;
    let m = matrices.get(key);
    if (!m) matrices.set(key, (m = engine.computeMatrix(query, protocol)));
    return m;
  };
  const n = snapshotPods.length;
  const cells: AnalysisCell[] = [];
  for (const src of order) {
    order.forEach((dst, column) => {
      for (const dp of destinationPorts[column] ?? []) {
        const query: PortQuery = dp.portName ?? (dp.port as number);
        const allowed = dp.port !== null && matrixFor(query, dp.protocol).allowed[src.index * n + dst.index] === 1;
        const cell: AnalysisCell = { from: podKey(src.pod), to: podKey(dst.pod), port: dp.port, protocol: dp.protocol, allowed };
        if (dp.portName !== undefined) cell.portName = dp.portName;
        if (options.explain) {
          const v = engine.evaluateFlow({ kind: 'pod', pod: src.pod }, { kind: 'pod', pod: dst.pod }, query, dp.protocol);
          cell.egress = toCellDirection(v.egress);
          cell.ingress = toCellDirection(v.ingress);
          if (v.mayBeDecidedBy) cell.mayBeDecidedBy = v.mayBeDecidedBy.map((m) => m.text);
          if (v.dependsOn) cell.dependsOn = v.dependsOn;
        }
        cells.push(cell);
      }
    });
  }
  return { pods: order.map((o) => o.pod), destinationPorts, cells };
}
