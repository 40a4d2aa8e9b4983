/**
 * `netcheck analyze` output that scales (pure): every renderer is a generator of text chunks, so the CLI streams
 * them and no document is ever one string.
 * - Up to CELL_LIMIT cells (after --from/--to), JSON is today's cells document (every cell with its explanation),
 *   and ndjson has one such cell per line.
 * - Past it, JSON is the grouped document (`apiVersion: netcheck.io/analysis/v2`): groups of pods with the same
 *   verdicts (a workload with its replica count, or the workload-less pods of a namespace that share a class), and
 *   per source group and port the destination groups it may reach; ndjson has one line per group pair and port.
 * - The table shows the pod matrix up to TABLE_POD_LIMIT pods, past it a namespace × namespace summary.
 */
import { analysisCells, type DestinationPort, type PreparedAnalysis } from '../policy/analyze.js';
import { groupName, groupPods, namespaceSummary, type PodGroup } from '../policy/analyze-groups.js';
import type { PodInfo } from '../policy/types.js';
import { cellsDocumentChunks, renderAnalysisTable, sortedSkipped } from './render-matrix.js';

/** Past this many cells the explained cells document would be hundreds of MB: the grouped document is written. */
export const CELL_LIMIT = 100_000;
/** Past this many pods the pod matrix is wider than any screen: the namespace summary is shown. */
export const TABLE_POD_LIMIT = 150;
export const GROUPED_API_VERSION = 'netcheck.io/analysis/v2';

/** Which pods are rows (sources) and columns (destinations): positions in the prepared analysis's pods. */
export interface AnalysisFocus {
  from: number[];
  to: number[];
}

export function allPods(prepared: PreparedAnalysis): AnalysisFocus {
  const all = prepared.pods.map((_, i) => i);
  return { from: all, to: all };
}

function cellsInFocus(prepared: PreparedAnalysis, focus: AnalysisFocus): number {
  const perSource = focus.to.reduce((sum, i) => sum + (prepared.destinationPorts[i]?.length ?? 0), 0);
  return focus.from.length * perSource;
}

/** Whether the focused matrix is small enough for the per-cell outputs. */
export function fitsCells(prepared: PreparedAnalysis, focus: AnalysisFocus): boolean {
  return cellsInFocus(prepared, focus) <= CELL_LIMIT;
}

function portKey(dp: DestinationPort): string {
  return `${dp.portName ?? ''}\u0000${dp.port}\u0000${dp.protocol}`;
}

function portLabel(dp: DestinationPort): string {
  return dp.portName !== undefined ? `${dp.portName}/${dp.protocol}` : `${dp.port}/${dp.protocol}`;
}

interface GroupedView {
  fromGroups: PodGroup[];
  toGroups: PodGroup[];
  /** Distinct destination ports (named: per name), each with the destination groups that have it resolved. */
  ports: Array<{ label: string; port: number | null; portName?: string; protocol: DestinationPort['protocol']; groups: Array<{ group: PodGroup; dp: DestinationPort }> }>;
}

function groupedView(prepared: PreparedAnalysis, focus: AnalysisFocus): GroupedView {
  const fromGroups = groupPods(prepared, focus.from);
  const toGroups = groupPods(prepared, focus.to);
  const ports = new Map<string, GroupedView['ports'][number]>();
  for (const group of toGroups) {
    for (const dp of group.ports) {
      const key = portKey(dp);
      let entry = ports.get(key);
      if (!entry) {
        entry = { label: portLabel(dp), port: dp.portName !== undefined ? null : dp.port, protocol: dp.protocol, groups: [] };
        if (dp.portName !== undefined) entry.portName = dp.portName;
        ports.set(key, entry);
      }
      if (dp.port !== null) entry.groups.push({ group, dp });
    }
  }
  const sorted = [...ports.values()].sort((a, b) => (a.port ?? 0) - (b.port ?? 0) || a.label.localeCompare(b.label));
  return { fromGroups, toGroups, ports: sorted };
}

function groupJson(prepared: PreparedAnalysis, group: PodGroup): Record<string, unknown> {
  const out: Record<string, unknown> = { id: group.id, name: groupName(prepared, group), namespace: group.namespace };
  if (group.workload !== undefined) out.workload = group.workload;
  out.pods = group.podCount;
  out.podNames = group.members.map((i) => (prepared.pods[i] as PodInfo).name);
  out.ports = group.ports.map((dp) => (dp.portName !== undefined ? { port: dp.port, portName: dp.portName, protocol: dp.protocol } : { port: dp.port, protocol: dp.protocol }));
  return out;
}

/** The grouped document (GROUPED_API_VERSION), streamed a group and a row at a time. */
export function* groupedDocumentChunks(prepared: PreparedAnalysis, focus: AnalysisFocus, skipped: Record<string, number>): Generator<string> {
  const view = groupedView(prepared, focus);
  const podsIn = (groups: PodGroup[]): number => groups.reduce((sum, g) => sum + g.podCount, 0);
  const head = {
    apiVersion: GROUPED_API_VERSION,
    kind: 'AnalysisGroups',
    note: 'groups of pods with identical verdicts; per source group and port, the destination groups it may reach (a destination group that has the port and is not listed is denied)',
    cells: cellsInFocus(prepared, focus),
    sourcePods: podsIn(view.fromGroups),
    destinationPods: podsIn(view.toGroups),
  };
  yield `{\n${Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')},\n`;
  const list = function* (name: string, groups: PodGroup[]): Generator<string> {
    yield `  ${JSON.stringify(name)}: [`;
    for (let i = 0; i < groups.length; i++) yield `${i === 0 ? '' : ','}\n    ${JSON.stringify(groupJson(prepared, groups[i] as PodGroup))}`;
    yield groups.length === 0 ? '],\n' : '\n  ],\n';
  };
  yield* list('sources', view.fromGroups);
  yield* list('destinations', view.toGroups);
  yield '  "flows": [';
  let first = true;
  let allowedCells = 0;
  const rows: string[] = [];
  const lookups = view.ports.map((port) => (port.groups[0] ? prepared.verdicts(port.groups[0].dp) : () => false));
  for (const from of view.fromGroups) {
    const s = from.members[0] as number;
    view.ports.forEach((port, p) => {
      const allowed = lookups[p] as (from: number, to: number) => boolean;
      const to: number[] = [];
      for (const { group } of port.groups) {
        if (allowed(s, group.members[0] as number)) {
          to.push(group.id);
          allowedCells += from.members.length * group.members.length;
        }
      }
      if (to.length === 0) return;
      const row = { from: from.id, port: port.port, ...(port.portName !== undefined ? { portName: port.portName } : {}), protocol: port.protocol, to };
      rows.push(`${first ? '' : ','}\n    ${JSON.stringify(row)}`);
      first = false;
    });
    if (rows.length > 0) yield rows.join('');
    rows.length = 0;
  }
  yield `${first ? ']' : '\n  ]'},\n  "allowedCells": ${allowedCells},\n  "skipped": ${JSON.stringify(sortedSkipped(skipped))}\n}\n`;
}

/** `-o json`: the cells document while it stays small, the grouped one past CELL_LIMIT cells. */
export function* analysisJsonChunks(prepared: PreparedAnalysis, focus: AnalysisFocus, skipped: Record<string, number>): Generator<string> {
  if (fitsCells(prepared, focus)) yield* cellsDocumentChunks(analysisCells(prepared, true, focus.from, focus.to), skipped);
  else yield* groupedDocumentChunks(prepared, focus, skipped);
}

/**
 * `-o ndjson`: one explained cell per line while small; past CELL_LIMIT, one line per source group and port with
 * the destination groups it may reach (a line per group pair would be gigabytes at 10,000 pods).
 */
export function* analysisNdjsonChunks(prepared: PreparedAnalysis, focus: AnalysisFocus): Generator<string> {
  if (fitsCells(prepared, focus)) {
    for (const cell of analysisCells(prepared, true, focus.from, focus.to)) yield `${JSON.stringify(cell)}\n`;
    return;
  }
  const view = groupedView(prepared, focus);
  const names = view.toGroups.map((g) => groupName(prepared, g));
  const lookups = view.ports.map((port) => (port.groups[0] ? prepared.verdicts(port.groups[0].dp) : () => false));
  for (const from of view.fromGroups) {
    const s = from.members[0] as number;
    const lines: string[] = [];
    view.ports.forEach((port, p) => {
      const allowed = lookups[p] as (from: number, to: number) => boolean;
      const to = port.groups.filter(({ group }) => allowed(s, group.members[0] as number)).map(({ group }) => names[group.id] as string);
      const denied = port.groups.length - to.length;
      lines.push(JSON.stringify({ from: groupName(prepared, from), fromPods: from.podCount, port: port.port, ...(port.portName !== undefined ? { portName: port.portName } : {}), protocol: port.protocol, allowedTo: to, deniedCount: denied }));
    });
    if (lines.length > 0) yield `${lines.join('\n')}\n`;
  }
}

function padEnd(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

function padStart(s: string, width: number): string {
  return s.length >= width ? s : ' '.repeat(width - s.length) + s;
}

/** The namespace × namespace summary: per namespace pair, workload (group) pairs allowed on every port / none / some. */
export function* namespaceSummaryChunks(prepared: PreparedAnalysis, focus: AnalysisFocus, skipped: Record<string, number>): Generator<string> {
  const fromGroups = groupPods(prepared, focus.from);
  const toGroups = groupPods(prepared, focus.to);
  const rows = namespaceSummary(prepared, fromGroups, toGroups).sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  const shown = rows.filter((r) => r.allowed + r.partial > 0);
  const namespaces = new Set([...fromGroups, ...toGroups].map((g) => g.namespace));
  const pods = (groups: PodGroup[]): number => groups.reduce((sum, g) => sum + g.podCount, 0);
  yield `${pods(fromGroups)} source pods in ${fromGroups.length} groups, ${pods(toGroups)} destination pods in ${toGroups.length} groups (a workload counts its replicas), ${namespaces.size} namespaces: too many for a pod matrix.\n`;
  yield 'Group pairs per namespace pair (a group: a workload, or pods no policy tells apart): allowed on every destination port / denied on all / partial.\n\n';
  const w1 = Math.max('from'.length, ...shown.map((r) => r.from.length));
  const w2 = Math.max('to'.length, ...shown.map((r) => r.to.length));
  yield `${padEnd('from', w1)}  ${padEnd('to', w2)}  ${padStart('allowed', 8)}  ${padStart('denied', 8)}  ${padStart('partial', 8)}\n`;
  let chunk: string[] = [];
  for (const r of shown) {
    chunk.push(`${padEnd(r.from, w1)}  ${padEnd(r.to, w2)}  ${padStart(String(r.allowed), 8)}  ${padStart(String(r.denied), 8)}  ${padStart(String(r.partial), 8)}`);
    if (chunk.length >= 1000) {
      yield `${chunk.join('\n')}\n`;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield `${chunk.join('\n')}\n`;
  const hidden = rows.length - shown.length;
  const totals = rows.reduce((t, r) => ({ allowed: t.allowed + r.allowed, denied: t.denied + r.denied, partial: t.partial + r.partial }), { allowed: 0, denied: 0, partial: 0 });
  yield `\n${shown.length} namespace pairs with some traffic allowed${hidden > 0 ? `; ${hidden} pairs where every group pair is denied are not listed` : ''}. Group pairs: ${totals.allowed} allowed, ${totals.denied} denied, ${totals.partial} partial.\n`;
  yield 'Drill in: --namespace NS (one namespace), --from/--to NS | NS/NAME | app=web (who can reach X, what X can reach).\n';
  const kinds = Object.keys(skipped).sort();
  if (kinds.length > 0) yield `skipped kinds: ${kinds.map((k) => `${k} ×${skipped[k]}`).join(', ')}\n`;
}

/** Focused table (--from/--to): one line per group pair, a mark per destination port. */
export function* focusedPairsChunks(prepared: PreparedAnalysis, focus: AnalysisFocus): Generator<string> {
  const fromGroups = groupPods(prepared, focus.from);
  const toGroups = groupPods(prepared, focus.to);
  let allowed = 0;
  let lines = 0;
  for (const from of fromGroups) {
    const s = from.members[0] as number;
    const out: string[] = [];
    for (const to of toGroups) {
      const marks = to.ports.map((dp) => {
        const ok = prepared.allowed(s, to.members[0] as number, dp);
        if (ok) allowed++;
        return `${portLabel(dp)}${dp.port === null ? ' -' : ok ? ' ✓' : ' ✗'}`;
      });
      out.push(`${groupName(prepared, from)} -> ${groupName(prepared, to)}: ${marks.length > 0 ? marks.join('  ') : 'no ports declared'}`);
    }
    lines += out.length;
    if (out.length > 0) yield `${out.join('\n')}\n`;
  }
  yield `${lines} group pairs, ${allowed} allowed (group, port) pairs. ✓ allowed, ✗ denied, - no such port.\n`;
}

/** `-o table`: the pod matrix while it fits; the namespace summary past TABLE_POD_LIMIT pods; pair lines when focused. */
export function* analysisTableChunks(prepared: PreparedAnalysis, focus: AnalysisFocus, skipped: Record<string, number>, focused: boolean): Generator<string> {
  const square = focus.from.length === focus.to.length && focus.from.every((v, i) => v === focus.to[i]);
  if (square && focus.from.length <= TABLE_POD_LIMIT) {
    const pods = focus.from.map((i) => prepared.pods[i] as PodInfo);
    const destinationPorts = focus.from.map((i) => prepared.destinationPorts[i] ?? []);
    yield renderAnalysisTable({ pods, destinationPorts, cells: [...analysisCells(prepared, false, focus.from, focus.to)] }, skipped);
    return;
  }
  if (focused && cellsInFocus(prepared, focus) <= CELL_LIMIT) {
    yield* focusedPairsChunks(prepared, focus);
    return;
  }
  yield* namespaceSummaryChunks(prepared, focus, skipped);
}
