/** Shared wording for renderers: how a cell, an outcome and a row are named. Pure. */
import type { CellVerdict, RunResult } from '../model/verdict.js';

/**
 * The table's legend for expectedLetter/observedLetter: every letter either can print is here, and nothing else.
 * Renderers print it as is.
 */
export const CELL_LEGEND =
  'cell = expected·observed: A allow/open, D deny/blocked, N name did not resolve (nxdomain), ? refused by an unknown party, P probe did not run';

/** Expected, in the same alphabet: A allow (and `connected`), D deny (and `refused`/`blocked`), N `nxdomain`. */
export function expectedLetter(cell: CellVerdict): 'A' | 'D' | 'N' {
  if (cell.expectOutcome === 'nxdomain') return 'N';
  return cell.expect === 'allow' ? 'A' : 'D';
}

/**
 * Observed, in the table's one-letter alphabet: A open, D blocked, N name did not resolve, ? a refusal nobody can
 * attribute, P probe did not run. Read from the verdict's path where it has one, so the letter says what the
 * verdict read: a DNS answer to a `dns` target is an open path (A), the same answer for a `service` name is N.
 */
export function observedLetter(cell: CellVerdict): 'A' | 'D' | 'N' | 'P' | '?' {
  if (cell.classification === 'probe' || cell.outcome.kind === 'error') return 'P';
  if (cell.outcome.kind.startsWith('dns-')) {
    // An answer (or silence) for a `dns` target is that target's path, unless the verdict read it as a name that
    // did not resolve; for every other target a DNS outcome means nothing was tested.
    if (cell.classification === 'dns' || cell.expectOutcome === 'nxdomain') return 'N';
    return cell.path === 'open' ? 'A' : cell.path === 'blocked' ? 'D' : 'N';
  }
  if (cell.path === 'open') return 'A';
  if (cell.path === 'blocked') return 'D';
  switch (cell.outcome.kind) {
    case 'connected':
    case 'http':
    case 'resolved':
      return 'A';
    case 'timeout':
    case 'unreachable':
      return 'D';
    // A rejection the verdict could not attribute (a target with no known endpoints: nothing listening, or a
    // rejecting data plane): never an open path, and not known to be blocked either. Results without a path
    // (written before verdicts recorded it) read it as blocked, as they always did.
    case 'refused':
      return cell.path === 'unknown' ? '?' : 'D';
    default:
      return 'N';
  }
}

export function statusMark(cell: CellVerdict): string {
  if (cell.pass) return '✓';
  return cell.classification === 'known-gap' ? '~' : '✗';
}

/** Row label: the source, plus the node when the run probed a source from several nodes. */
export function rowLabel(cell: CellVerdict, perNode: boolean): string {
  return perNode && cell.node !== undefined ? `${cell.source}@${cell.node}` : cell.source;
}

/** Column label: the target, plus the node its listener was pinned to (per-node listeners). */
export function columnLabel(cell: CellVerdict): string {
  return cell.targetNode !== undefined ? `${cell.target}@${cell.targetNode}` : cell.target;
}

/** Did any source run from more than one node (a --per-node run)? */
export function isPerNode(result: RunResult): boolean {
  const nodes = new Map<string, Set<string>>();
  for (const c of result.cells) {
    if (c.node === undefined) continue;
    const set = nodes.get(c.source) ?? new Set<string>();
    set.add(c.node);
    nodes.set(c.source, set);
  }
  return [...nodes.values()].some((s) => s.size > 1);
}

/** Rows and columns in first-seen order (the scenario's order), so output is stable. */
export function axes(result: RunResult): { rows: string[]; columns: string[] } {
  const perNode = isPerNode(result);
  const rows: string[] = [];
  const columns: string[] = [];
  for (const c of result.cells) {
    const row = rowLabel(c, perNode);
    if (!rows.includes(row)) rows.push(row);
    const column = columnLabel(c);
    if (!columns.includes(column)) columns.push(column);
  }
  return { rows, columns };
}

/** Cells that fail the run: not passing, and not a known gap. */
export function failingCells(result: RunResult): CellVerdict[] {
  return result.cells.filter((c) => !c.pass && c.classification !== 'known-gap');
}

export function verdictHeadline(result: RunResult): string {
  const s = result.summary;
  const known = s.knownGaps > 0 ? `, ${s.knownGaps} known gap${s.knownGaps === 1 ? '' : 's'}` : '';
  return `${s.total} cells: ${s.passed} passed, ${s.failed} failed${known}`;
}

/**
 * A cell's name in reports CI systems track across runs: a pure function of the scenario (and `--per-node`),
 * never of where the scheduler put the probe, so test history, flaky-test tracking and merge-request diffs line up.
 */
export function cellName(cell: CellVerdict): string {
  // `@node-a` the source's node; `@node-a→node-b` also the listener's (a per-node run tests every node pair).
  const to = cell.targetNode !== undefined ? `→${cell.targetNode}` : '';
  const node = cell.pinnedNode !== undefined || to ? ` @${cell.pinnedNode ?? ''}${to}` : '';
  return `${cell.source} → ${cell.target}${node} (${cell.expect})`;
}

/**
 * How a test-report format counts a cell: a check that could not run is an error (broken probe infrastructure),
 * an expectation mismatch a failure (a regression), a known gap skipped.
 */
export type CaseResult = 'pass' | 'failure' | 'error' | 'skipped';

export function caseResult(cell: CellVerdict): CaseResult {
  if (cell.pass) return 'pass';
  switch (cell.classification) {
    case 'known-gap':
      return 'skipped';
    case 'probe':
      return 'error';
    case 'pass':
    case 'policy-gap':
    case 'data-plane':
    case 'dns':
    case 'unknown':
      return 'failure';
  }
}

/** The run-level findings about this cell (RunResult.findingCells), in the run's order. */
export function runFindingsAbout(result: RunResult, cell: CellVerdict): string[] {
  return (result.findingCells ?? [])
    .filter((f) => f.cells.some((ref) => ref.source === cell.source && ref.target === cell.target && (ref.node === undefined || ref.node === cell.node)))
    .map((f) => f.text);
}
