/**
 * Markdown for a CI step summary ($GITHUB_STEP_SUMMARY; several steps append to one file, so it starts at `##`):
 * the verdict, then root cause first — one line per cause (cells, owner, next command) — then the failures grouped
 * under their cause (each cause's cells folded), what no cause explains, the checks that could not run, the other
 * findings — then, folded, the known gaps and every cell.
 */
import { describeOutcome } from '../model/outcome.js';
import type { CellVerdict, RunResult } from '../model/verdict.js';
import { renderDnsChainMarkdown } from './render-dns-chain.js';
import { findingAction } from './finding-action.js';
import { caseResult, columnLabel, failingCells, statusMark } from './cell-text.js';
import { rootCauses, type RootCause } from '../diagnose/root-causes.js';

/** What the reader asked to see; see TableView in render-table.ts. */
export interface MarkdownView {
  /** `--failures-only`: no folded list of known gaps or of every cell. */
  failuresOnly?: boolean;
}

export function renderMarkdown(result: RunResult, view: MarkdownView = {}): string {
  const s = result.summary;
  const failing = failingCells(result);
  const mismatches = failing.filter((c) => caseResult(c) === 'failure');
  const notRun = failing.filter((c) => caseResult(c) === 'error');
  const verdict = [
    ...(mismatches.length > 0 ? [`${mismatches.length} failed`] : []),
    ...(notRun.length > 0 ? [`${notRun.length} could not run`] : []),
  ];
  const out: string[] = [];
  out.push(`## netcheck · ${md(result.scenario)} · ${verdict.length === 0 ? '✅ pass' : `❌ ${verdict.join(', ')}`}`);
  const { causes, unexplained } = rootCauses(result);
  if (causes.length > 0) {
    out.push('');
    for (const [i, cause] of causes.entries()) out.push(`${i === 0 ? '' : '\n'}${causeLine(cause, i)}`);
  }
  out.push('');
  out.push(
    `Run \`${result.runId}\`${result.cluster.context ? ` on context \`${md(result.cluster.context)}\`` : ''}${result.cluster.server ? ` (${md(result.cluster.server)})` : ''}: ${s.total} cells, ${s.passed} passed, ` +
      `${mismatches.length} failed, ${notRun.length} could not run, ${s.knownGaps} known gap${s.knownGaps === 1 ? '' : 's'}.`,
  );
  const causeTexts = new Set(causes.map((c) => c.finding.text));
  const findings = (result.findings ?? []).filter((f) => !causeTexts.has(f));
  if (causes.length > 0) {
    out.push('', '### Failures by cause');
    for (const [i, cause] of causes.entries()) {
      out.push('', `#### CAUSE ${i + 1} (${cause.cells.length} cell${cause.cells.length === 1 ? '' : 's'}): ${md(cause.name)}`, '');
      if (cause.finding.text !== cause.name) out.push(md(cause.finding.text), '');
      out.push(`Cells: ${md(cellList(cause.cells))}`, '');
      out.push(`<details><summary>Each cell (${cause.cells.length})</summary>`, '', ...cellTable(cause.cells, true), '', '</details>');
    }
  }
  if (findings.length > 0) {
    out.push('', causes.length > 0 ? '### Other findings' : '### Findings', '');
    for (const f of findings) {
      // Who fixes it and the command to run next, on the finding's own bullet (a code span keeps the command copyable).
      const { owner, next } = findingAction(result, f);
      const action = [...(owner !== undefined ? [`owner: ${md(owner)}`] : []), ...(next !== undefined ? [`next: \`${next.replaceAll('`', "'")}\``] : [])];
      out.push(`- ${md(f)}${action.length > 0 ? `<br>${action.join(' · ')}` : ''}`);
    }
  }
  if (result.dnsChains && result.dnsChains.length > 0) out.push('', renderDnsChainMarkdown(result.dnsChains, '####').trimEnd());
  // What a cause explains is under it above; here what none does.
  const left = new Set(causes.length > 0 ? unexplained : failing);
  const unexplainedMismatches = mismatches.filter((c) => left.has(c));
  const unexplainedNotRun = notRun.filter((c) => left.has(c));
  if (unexplainedMismatches.length > 0) {
    out.push('', causes.length > 0 ? '### Unexplained failures' : '### Failures', '');
    out.push(...cellTable(unexplainedMismatches, true));
  }
  if (unexplainedNotRun.length > 0) {
    out.push('', '### Could not run', '', 'Probe infrastructure, not a verdict on the policies:', '');
    out.push(...cellTable(unexplainedNotRun, true));
  }
  if (result.cluster.unknown.length > 0) {
    out.push('', `Not readable (policy may be unknown): ${md(result.cluster.unknown.join(', '))}`);
  }
  const known = result.cells.filter((c) => c.classification === 'known-gap');
  if (view.failuresOnly === true) {
    if (known.length > 0) out.push('', `${known.length} known gap${known.length === 1 ? '' : 's'} (documented in the scenario) and the passing cells are not shown (--failures-only).`);
    return out.join('\n') + '\n';
  }
  if (known.length > 0) {
    out.push('', `<details><summary>Known gaps (${known.length}, documented in the scenario, not failing the run)</summary>`, '');
    for (const c of known) out.push(`- ${md(c.source)} → ${md(c.target)}: ${md(c.known ?? c.reason)}`);
    out.push('', '</details>');
  }
  out.push('', `<details><summary>All cells (${s.total})</summary>`, '');
  out.push(...cellTable(result.cells, false));
  out.push('', '</details>');
  return out.join('\n') + '\n';
}

/** `**CAUSE 1 (22 cells):** CoreDNS has no ready pod (…) — platform team — next: `kubectl …`` */
function causeLine(cause: RootCause, index: number): string {
  const { owner, next } = cause.finding;
  const n = cause.cells.length;
  return [`**CAUSE ${index + 1} (${n} cell${n === 1 ? '' : 's'}):** ${md(cause.name)}`, ...(owner !== undefined ? [md(owner)] : []), ...(next !== undefined ? [`next: \`${next.replaceAll('`', "'")}\``] : [])].join(' — ');
}

/** `serving → a (node-a), b (node-a) · training → a (node-b)` */
function cellList(cells: readonly CellVerdict[]): string {
  const bySource = new Map<string, string[]>();
  for (const c of cells) bySource.set(c.source, [...(bySource.get(c.source) ?? []), `${columnLabel(c)}${c.node !== undefined ? ` (${c.node})` : ''}`]);
  return [...bySource].map(([source, targets]) => `${source} → ${[...new Set(targets)].join(', ')}`).join(' · ');
}

function cellTable(cells: readonly CellVerdict[], withReason: boolean): string[] {
  const header = ['', 'Source', 'Target', 'Node', 'Expected', 'Observed', 'Policy', 'Class'];
  if (withReason) header.push('Why');
  const rows = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const c of cells) {
    const row = [statusMark(c), c.source, c.target, c.node ?? '', c.expect, describeOutcome(c.outcome), c.policy, c.classification];
    if (withReason) row.push([c.reason, ...(c.findings ?? [])].join(' — '));
    rows.push(`| ${row.map(md).join(' | ')} |`);
  }
  return rows;
}

/** Escape what would break a table cell or start markup. */
export function md(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}
