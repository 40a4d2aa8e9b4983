/**
 * A snapshot diff (src/run/snapshot.ts) as a table, JSON, Markdown and JUnit. Pure. Regressions come first,
 * each with why the policies decide it so; unchanged cells are counted, not listed.
 */
import { CELL_CHANGE_CLASSES, type CellChange, type CellChangeClass, type SnapshotDiff } from '../model/snapshot.js';
import { md } from './render-markdown.js';
import { escapeXmlAttr, escapeXmlText } from './xml-text.js';

const TITLES: Record<CellChangeClass, string> = {
  regression: 'Regressions (against the intent: fix before the next node)',
  'newly-enforced': 'Newly enforced (open before, blocked now, as intended)',
  opened: 'Opened (blocked before, open now, as intended)',
  'still-not-enforced': 'Still not enforced (the policies deny it; open both times)',
  'not-compared': 'Not compared (no reading on one side)',
  added: 'Only in the later snapshot',
  removed: 'Only in the earlier snapshot',
  unchanged: 'Unchanged',
};

const PREDICTED_TITLES: Partial<Record<CellChangeClass, string>> = {
  regression: 'Will break once the policies are enforced (intent allow, policies deny)',
  'newly-enforced': 'Will be blocked once the policies are enforced, as intended',
};

function cellLabel(c: CellChange): string {
  const to = c.targetNode !== undefined ? `→${c.targetNode}` : '';
  return `${c.source} → ${c.target}${c.node !== undefined || to ? ` @${c.node ?? ''}${to}` : ''} (${c.expect})`;
}

function sideText(c: CellChange): string {
  const b = c.before ? `${c.before.observed}` : '—';
  const a = c.after ? `${c.after.observed}` : undefined;
  return a === undefined ? `${b}, policy ${c.before?.policy ?? '?'}` : `${b} → ${a}, policy ${c.after?.policy ?? '?'}`;
}

export function diffHeadline(diff: SnapshotDiff): string {
  const parts = CELL_CHANGE_CLASSES.filter((k) => diff.counts[k] > 0).map((k) => `${diff.counts[k]} ${k}`);
  const verdict = diff.counts.regression > 0 ? (diff.mode === 'predict' ? 'WILL BREAK' : 'REGRESSION') : 'OK';
  return `${verdict} ${diff.scenario}: ${diff.changes.length} cells${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

function title(diff: SnapshotDiff, k: CellChangeClass): string {
  return (diff.mode === 'predict' ? PREDICTED_TITLES[k] : undefined) ?? TITLES[k];
}

function whereFrom(diff: SnapshotDiff): string[] {
  const describe = (label: string, s: SnapshotDiff['before']) =>
    `${label}: ${s.takenAt}${s.context ? ` · context ${s.context}` : ''} · nodes ${s.nodes.join(', ') || '(none)'}${s.cni ? ` · CNI ${s.cni.join(', ') || '(none recognised)'}` : ''}`;
  const enforcing = diff.enforcing !== undefined ? [`enforcing: ${diff.enforcing.join(', ') || '(no node)'} (the other nodes keep today's data plane)`] : [];
  return diff.after ? [describe('before', diff.before), describe('after ', diff.after)] : [describe('baseline', diff.before), ...enforcing];
}

function factsTitle(diff: SnapshotDiff): string {
  return diff.after ? 'Cluster facts (after)' : 'Cluster facts (baseline)';
}

export function renderDiffTable(diff: SnapshotDiff): string {
  const out: string[] = [`netcheck ${diff.mode === 'predict' ? 'diff --predict' : 'diff'} ${diff.scenario}${diff.perNode ? ' (per node)' : ''}`, ...whereFrom(diff), ''];
  if (diff.facts !== undefined) out.push(`${factsTitle(diff)}:`, ...diff.facts.map((l) => `  ${l}`), '');
  if (diff.factChanges.length > 0) out.push('Cluster changes:', ...diff.factChanges.map((l) => `  ${l}`), '');
  for (const k of CELL_CHANGE_CLASSES) {
    if (k === 'unchanged') continue;
    const cells = diff.changes.filter((c) => c.change === k);
    if (cells.length === 0) continue;
    out.push(`${title(diff, k)} (${cells.length}):`);
    for (const c of cells) {
      out.push(`  ${cellLabel(c)}: ${sideText(c)}`, `      ${c.reason}`);
      if (k === 'regression' || k === 'still-not-enforced') for (const l of c.policyExplanation ?? []) out.push(`      policy: ${l}`);
      if (c.known !== undefined && k !== 'regression') out.push(`      known gap: ${c.known}`);
    }
    out.push('');
  }
  out.push(`${diff.counts.unchanged} unchanged.`, '', diffHeadline(diff));
  return out.join('\n') + '\n';
}

export function renderDiffJson(diff: SnapshotDiff): string {
  return JSON.stringify(diff, null, 2) + '\n';
}

export function renderDiffMarkdown(diff: SnapshotDiff): string {
  const out: string[] = [`## netcheck ${diff.mode === 'predict' ? 'diff --predict' : 'diff'}: ${md(diff.scenario)}`, '', `**${md(diffHeadline(diff))}**`, ''];
  for (const line of whereFrom(diff)) out.push(`- ${md(line)}`);
  out.push('');
  if (diff.facts !== undefined) out.push(`### ${factsTitle(diff)}`, '', ...diff.facts.map((l) => `- ${md(l)}`), '');
  if (diff.factChanges.length > 0) {
    out.push('### Cluster changes', '', ...diff.factChanges.map((l) => `- ${md(l)}`), '');
  }
  for (const k of CELL_CHANGE_CLASSES) {
    if (k === 'unchanged') continue;
    const cells = diff.changes.filter((c) => c.change === k);
    if (cells.length === 0) continue;
    out.push(`### ${md(title(diff, k))} (${cells.length})`, '', '| cell | observed | why |', '|---|---|---|');
    for (const c of cells) {
      const why = [c.reason, ...(k === 'regression' ? (c.policyExplanation ?? []).map((l) => `policy: ${l}`) : [])].map(md).join('<br>');
      out.push(`| ${md(cellLabel(c))} | ${md(sideText(c))} | ${why} |`);
    }
    out.push('');
  }
  out.push(`${diff.counts.unchanged} cells unchanged.`, '');
  return out.join('\n');
}

/** One testcase per cell: a regression is a <failure>, a cell without a reading <skipped>, the rest pass. */
export function renderDiffJunit(diff: SnapshotDiff): string {
  const failures = diff.counts.regression;
  const skipped = diff.counts['not-compared'] + diff.counts.added + diff.counts.removed;
  const suite = `${diff.scenario} ${diff.mode === 'predict' ? 'predicted changes' : 'diff'}`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="netcheck diff" tests="${diff.changes.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${escapeXmlAttr(suite)}" tests="${diff.changes.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${escapeXmlAttr(diff.after?.takenAt ?? diff.before.takenAt)}">`,
  ];
  for (const c of diff.changes) {
    const open = `    <testcase classname="${escapeXmlAttr(`${diff.scenario}.${c.source}`)}" name="${escapeXmlAttr(cellLabel(c))}"`;
    const body = escapeXmlText([`${c.change}: ${c.reason}`, `observed: ${sideText(c)}`, ...(c.policyExplanation ?? []).map((l) => `policy: ${l}`)].join('\n'));
    if (c.change === 'regression') {
      out.push(`${open}>`, `      <failure message="${escapeXmlAttr(c.reason)}" type="regression">${body}</failure>`, '    </testcase>');
    } else if (c.change === 'not-compared' || c.change === 'added' || c.change === 'removed') {
      out.push(`${open}>`, `      <skipped message="${escapeXmlAttr(`${c.change}: ${c.reason}`)}"/>`, '    </testcase>');
    } else {
      out.push(`${open}>`, `      <system-out>${body}</system-out>`, '    </testcase>');
    }
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}
