/** Markdown for a CI step summary ($GITHUB_STEP_SUMMARY): the verdict, the failing cells, findings, then every cell folded. */
import { describeOutcome } from '../model/outcome.js';
import type { CellVerdict, RunResult } from '../model/verdict.js';
import { failingCells, statusMark } from './cell-text.js';

export function renderMarkdown(result: RunResult): string {
  const s = result.summary;
  const ok = s.failed === 0;
  const out: string[] = [];
  out.push(`## netcheck · ${md(result.scenario)} · ${ok ? '✅ pass' : `❌ ${s.failed} failed`}`);
  out.push('');
  out.push(`Run \`${result.runId}\`${result.cluster.context ? ` on context \`${result.cluster.context}\`` : ''}: ${s.total} cells, ${s.passed} passed, ${s.failed} failed, ${s.knownGaps} known gap${s.knownGaps === 1 ? '' : 's'}.`);
  const failures = failingCells(result);
  if (failures.length > 0) {
    out.push('');
    out.push('### Failures');
    out.push('');
    out.push(...cellTable(failures, true));
  }
  const findings = result.findings ?? [];
  if (findings.length > 0) {
    out.push('');
    out.push('### Findings');
    out.push('');
    for (const f of findings) out.push(`- ${md(f)}`);
  }
  const known = result.cells.filter((c) => c.classification === 'known-gap');
  if (known.length > 0) {
    out.push('');
    out.push('### Known gaps');
    out.push('');
    for (const c of known) out.push(`- ${md(c.source)} → ${md(c.target)}: ${md(c.known ?? c.reason)}`);
  }
  if (result.cluster.unknown.length > 0) {
    out.push('');
    out.push(`Not readable (policy may be unknown): ${md(result.cluster.unknown.join(', '))}`);
  }
  out.push('');
  out.push('<details><summary>All cells</summary>');
  out.push('');
  out.push(...cellTable(result.cells, false));
  out.push('');
  out.push('</details>');
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
