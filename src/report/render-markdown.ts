/**
 * Markdown for a CI step summary ($GITHUB_STEP_SUMMARY; several steps append to one file, so it starts at `##`):
 * the verdict, then what to act on first — run findings, the failures with their diagnosis, the checks that could
 * not run — then, folded, the known gaps and every cell.
 */
import { describeOutcome } from '../model/outcome.js';
import type { CellVerdict, RunResult } from '../model/verdict.js';
import { renderDnsChainMarkdown } from './render-dns-chain.js';
import { findingAction } from './finding-action.js';
import { caseResult, failingCells, statusMark } from './cell-text.js';

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
  out.push('');
  out.push(
    `Run \`${result.runId}\`${result.cluster.context ? ` on context \`${md(result.cluster.context)}\`` : ''}${result.cluster.server ? ` (${md(result.cluster.server)})` : ''}: ${s.total} cells, ${s.passed} passed, ` +
      `${mismatches.length} failed, ${notRun.length} could not run, ${s.knownGaps} known gap${s.knownGaps === 1 ? '' : 's'}.`,
  );
  const findings = result.findings ?? [];
  if (findings.length > 0) {
    out.push('', '### Findings', '');
    for (const f of findings) {
      // Who fixes it and the command to run next, on the finding's own bullet (a code span keeps the command copyable).
      const { owner, next } = findingAction(result, f);
      const action = [...(owner !== undefined ? [`owner: ${md(owner)}`] : []), ...(next !== undefined ? [`next: \`${next.replaceAll('`', "'")}\``] : [])];
      out.push(`- ${md(f)}${action.length > 0 ? `<br>${action.join(' · ')}` : ''}`);
    }
  }
  if (result.dnsChains && result.dnsChains.length > 0) out.push('', renderDnsChainMarkdown(result.dnsChains, '####').trimEnd());
  if (mismatches.length > 0) {
    out.push('', '### Failures', '');
    out.push(...cellTable(mismatches, true));
  }
  if (notRun.length > 0) {
    out.push('', '### Could not run', '', 'Probe infrastructure, not a verdict on the policies:', '');
    out.push(...cellTable(notRun, true));
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
