/**
 * The terminal report, root cause first (issue 21): after the headline one line per cause (most cells first: how
 * many cells it explains, who fixes it, the next command), then a truth table sources × targets (expected·observed
 * per cell, mismatches marked), then the failures grouped under their cause (its cells on a line or two; every cell
 * in full with --show-cells), then what no cause explains, then the other findings. Fits 100 columns: targets are
 * numbered, and a wide matrix is split into blocks of columns.
 */
import { describeOutcome } from '../model/outcome.js';
import { wrap } from './wrap-text.js';
import type { CellVerdict, RunResult } from '../model/verdict.js';
import { renderDnsChainText } from './render-dns-chain.js';
import { findingActionLine } from './finding-action.js';
import { rootCauses, type RootCause } from '../diagnose/root-causes.js';
import { axes, CELL_LEGEND, columnLabel, expectedLetter, failingCells, isPerNode, observedLetter, rowLabel, statusMark, verdictHeadline } from './cell-text.js';

const WIDTH = 100;
const CELL = 5;

/** What the person at the terminal asked to see (JSON and JUnit always carry every cell). */
export interface TableView {
  /** `--failures-only`: only the rows and columns with a failing cell, only failing cells in them (known gaps: one line). */
  failuresOnly?: boolean;
  /** `--show-known`: every known gap with its reason, instead of one line naming them. */
  showKnown?: boolean;
  /** `-v` / `--show-cells`: every failing cell in full under its cause, instead of one or two lines per cause. */
  showCells?: boolean;
}

export function renderTable(result: RunResult, width = WIDTH, view: TableView = {}): string {
  const failures = failingCells(result);
  const failuresOnly = view.failuresOnly === true;
  const shown = failuresOnly ? { ...result, cells: failures } : result;
  const { rows, columns } = axes(shown);
  const perNode = isPerNode(result);
  const byKey = new Map<string, CellVerdict>();
  for (const c of shown.cells) byKey.set(`${rowLabel(c, perNode)}\u0000${columnLabel(c)}`, c);

  const out: string[] = [];
  out.push(`netcheck run ${result.scenario} · run ${result.runId} · ${verdictHeadline(result)}`);
  // Which cluster answered: at 3 a.m. the wrong kubeconfig context is a real possibility.
  const where = [result.cluster.context !== undefined ? `context ${result.cluster.context}` : undefined, result.cluster.server].filter((x) => x !== undefined && x !== '');
  if (where.length > 0) out.push(`cluster: ${where.join(' · ')}`);
  if (failuresOnly) out.push(`--failures-only: ${failures.length} failing cell${failures.length === 1 ? '' : 's'} of ${result.cells.length} shown`);
  // What a half-asleep reader needs is on the first screen: the causes, before the table.
  const { causes, unexplained, others } = rootCauses(result);
  for (const [i, cause] of causes.entries()) out.push(...wrap(causeLine(cause, i), width, '    '));
  if (causes.length > 0 && unexplained.length > 0) out.push(`UNEXPLAINED (${count(unexplained.length)}): no run-level cause; each is listed in full below`);
  out.push('');

  const labelWidth = Math.min(28, Math.max(6, ...rows.map((r) => r.length)));
  const perBlock = Math.max(1, Math.floor((width - labelWidth - 1) / CELL));
  for (let start = 0; start < columns.length; start += perBlock) {
    const block = columns.slice(start, start + perBlock);
    out.push(pad('', labelWidth) + ' ' + block.map((_, i) => pad(String(start + i + 1), CELL)).join('').trimEnd());
    for (const row of rows) {
      const cells = block.map((target) => {
        const c = byKey.get(`${row}\u0000${target}`);
        return pad(c ? `${expectedLetter(c)}${observedLetter(c)}${statusMark(c)}` : '·', CELL);
      });
      out.push(`${pad(truncate(row, labelWidth), labelWidth)} ${cells.join('').trimEnd()}`);
    }
    out.push('');
  }
  out.push(...wrap(`targets: ${columns.map((t, i) => `${i + 1} ${t}`).join(' · ')}`, width, '  '));
  out.push(
    ...wrap(
      `${CELL_LEGEND}; ✓ pass, ✗ fail, ~ known gap${failuresOnly ? '; · not failing' : ''}`,
      width,
      '  ',
    ),
  );

  if (causes.length > 0) {
    out.push('');
    out.push(`Failures by cause (${failures.length}):`);
    for (const [i, cause] of causes.entries()) {
      out.push(...wrap(`CAUSE ${i + 1} (${count(cause.cells.length)}): ${cause.name}`, width, '    '));
      if (cause.finding.text !== cause.name) out.push(...wrap(cause.finding.text, width, '      ', '    '));
      if (view.showCells === true) for (const c of cause.cells) out.push(...describeCell(c, width, '    '));
      else out.push(...cellsLines(cause.cells, columns, perNode, width));
    }
    if (unexplained.length > 0) {
      out.push('');
      out.push(`Unexplained (${unexplained.length}):`);
      for (const c of unexplained) out.push(...describeCell(c, width));
    }
  } else if (failures.length > 0) {
    out.push('');
    out.push(`Failures (${failures.length}):`);
    for (const c of failures) out.push(...describeCell(c, width));
  }
  const known = result.cells.filter((c) => c.classification === 'known-gap');
  if (known.length > 0 && view.showKnown === true && !failuresOnly) {
    out.push('');
    out.push(`Known gaps (${known.length}, not failing the run):`);
    for (const c of known) out.push(...describeCell(c, width));
  } else if (known.length > 0) {
    // One line: the person reading wants what is new; the documented gaps only need naming.
    out.push('');
    out.push(...wrap(knownGapsLine(known), width, '  '));
  }
  // The causes' findings are said above; the rest (about the run, or about cells that pass) here.
  const causeTexts = new Set(causes.map((c) => c.finding.text));
  const otherFindings = (result.findings ?? []).filter((f) => !causeTexts.has(f) || others.some((o) => o.text === f));
  if (otherFindings.length > 0) {
    out.push('');
    out.push(causes.length > 0 ? 'Other findings:' : 'Findings:');
    for (const f of otherFindings) {
      out.push(...wrap(`- ${f}`, width, '    ', '  '));
      const action = findingActionLine(result, f);
      if (action !== undefined) out.push(...wrap(action, width, '    ', '    '));
    }
  }
  if (result.dnsChains && result.dnsChains.length > 0) out.push('', ...renderDnsChainText(result.dnsChains, width).trimEnd().split('\n'));
  if (result.cluster.unknown.length > 0) {
    out.push('');
    out.push(...wrap(`Not readable (policy may be unknown): ${result.cluster.unknown.join(', ')}`, width, '  '));
  }
  out.push('');
  out.push(result.summary.failed === 0 ? `PASS ${verdictHeadline(result)}` : `FAIL ${verdictHeadline(result)}`);
  return out.join('\n') + '\n';
}

/** `8 known gaps (documented in the scenario, not failing the run): a → b, a → c ×2; --show-known lists why` */
function knownGapsLine(known: readonly CellVerdict[]): string {
  const pairs = new Map<string, number>();
  for (const c of known) pairs.set(`${c.source} → ${c.target}`, (pairs.get(`${c.source} → ${c.target}`) ?? 0) + 1);
  const list = [...pairs].map(([pair, n]) => (n > 1 ? `${pair} ×${n}` : pair)).join(', ');
  return `${known.length} known gap${known.length === 1 ? '' : 's'} (documented in the scenario, not failing the run): ${list}; --show-known lists why`;
}

function describeCell(c: CellVerdict, width: number, indent = ''): string[] {
  const node = c.node !== undefined ? ` on ${c.node}` : '';
  const lines = wrap(
    `${statusMark(c)} ${c.source} → ${columnLabel(c)}${node} [${c.classification}] expected ${c.expect}, observed ${describeOutcome(c.outcome)}, policy ${c.policy}`,
    width,
    `${indent}    `,
    indent,
  );
  lines.push(...wrap(`why: ${c.reason}`, width, `${indent}      `, `${indent}    `));
  for (const f of c.findings ?? []) lines.push(...wrap(`finding: ${f}`, width, `${indent}      `, `${indent}    `));
  return lines;
}

/** `CAUSE 1 (22 cells): CoreDNS has no ready pod (…) — platform team — next: kubectl -n kube-system get deploy coredns` */
export function causeLine(cause: RootCause, index: number): string {
  const { owner, next } = cause.finding;
  return [`CAUSE ${index + 1} (${count(cause.cells.length)}): ${cause.name}`, ...(owner !== undefined ? [owner] : []), ...(next !== undefined ? [`next: ${next}`] : [])].join(' — ');
}

function count(n: number): string {
  return `${n} cell${n === 1 ? '' : 's'}`;
}

/**
 * A cause's cells on one or two lines, by source: target names when they fit, else the table's target numbers
 * (`serving → 1–8 · seldon → 1, 6, 7`); the nodes the probes ran on when the run did not compare nodes.
 */
function cellsLines(cells: readonly CellVerdict[], columns: readonly string[], perNode: boolean, width: number): string[] {
  const bySource = new Map<string, CellVerdict[]>();
  for (const c of cells) bySource.set(rowLabel(c, perNode), [...(bySource.get(rowLabel(c, perNode)) ?? []), c]);
  const nodes = perNode ? [] : [...new Set(cells.flatMap((c) => (c.node !== undefined ? [c.node] : [])))].sort();
  const on = nodes.length > 0 ? ` (on ${nodes.join(', ')})` : '';
  const named = [...bySource].map(([row, cs]) => `${row} → ${cs.map(columnLabel).join(', ')}`).join(' · ');
  const byName = wrap(`✗ ${named}${on}`, width, '      ', '    ');
  if (byName.length <= 2) return byName;
  const numbered = [...bySource].map(([row, cs]) => `${row} → ${ranges(cs.map((c) => columns.indexOf(columnLabel(c)) + 1))}`).join(' · ');
  const byNumber = wrap(`✗ ${numbered}${on} (targets numbered as in the table; --show-cells lists each)`, width, '      ', '    ');
  return byNumber.length <= 2 ? byNumber : [...byNumber.slice(0, 1), `${byNumber[1]!.trimEnd().slice(0, width - 2)}…`];
}

/** 1, 2, 3, 5, 7, 8 → "1–3, 5, 7, 8" (a run of three or more is a range). */
export function ranges(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(j - i >= 2 ? `${sorted[i]}–${sorted[j]}` : sorted.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return parts.join(', ');
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}
