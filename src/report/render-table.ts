/**
 * The terminal report: a truth table sources × targets (expected·observed per cell, mismatches marked),
 * then the failures with their reasons, then run findings. Fits 100 columns: targets are numbered, and a
 * wide matrix is split into blocks of columns.
 */
import { describeOutcome } from '../model/outcome.js';
import { wrap } from './wrap-text.js';
import type { CellVerdict, RunResult } from '../model/verdict.js';
import { renderDnsChainText } from './render-dns-chain.js';
import { findingActionLine } from './finding-action.js';
import { axes, CELL_LEGEND, columnLabel, expectedLetter, failingCells, isPerNode, observedLetter, rowLabel, statusMark, verdictHeadline } from './cell-text.js';

const WIDTH = 100;
const CELL = 5;

/** What the person at the terminal asked to see (JSON and JUnit always carry every cell). */
export interface TableView {
  /** `--failures-only`: only the rows and columns with a failing cell, only failing cells in them (known gaps: one line). */
  failuresOnly?: boolean;
  /** `--show-known`: every known gap with its reason, instead of one line naming them. */
  showKnown?: boolean;
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

  if (failures.length > 0) {
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
  if (result.findings && result.findings.length > 0) {
    out.push('');
    out.push('Findings:');
    for (const f of result.findings) {
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

function describeCell(c: CellVerdict, width: number): string[] {
  const node = c.node !== undefined ? ` on ${c.node}` : '';
  const lines = wrap(
    `${statusMark(c)} ${c.source} → ${columnLabel(c)}${node} [${c.classification}] expected ${c.expect}, observed ${describeOutcome(c.outcome)}, policy ${c.policy}`,
    width,
    '    ',
  );
  lines.push(...wrap(`why: ${c.reason}`, width, '      ', '    '));
  for (const f of c.findings ?? []) lines.push(...wrap(`finding: ${f}`, width, '      ', '    '));
  return lines;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}
