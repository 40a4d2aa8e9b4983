/**
 * Reports of `netcheck check` (intent vs policies, no cluster): table, json, markdown, junit. Pure.
 *
 * Why not a RunResult through the run renderers: a RunResult cell must carry an observed Outcome, and every run
 * report reads it ("observed …", the A/D/N/P matrix, the attempts). Nothing is observed here; filling the field
 * with a made-up outcome would print "observed error" on every line, and a cell policy cannot decide offline has
 * no run classification that does not fail the run. So the check's own result, with the same conventions as the
 * run reports: JUnit names `source → target (expect)` (a pure function of the scenario), a contradiction or a
 * stale `known:` entry is a <failure>, a known gap and an undecided cell are <skipped> with their reason.
 */
import { formatLocation } from '../model/errors.js';
import type { IntentCell, IntentCheckResult, IntentStatus } from '../model/intent.js';
import { md } from './render-markdown.js';
import { escapeXmlAttr, escapeXmlText } from './xml-text.js';

const MARK: Record<IntentStatus, string> = { agrees: '✓', contradicts: '✗', 'stale-known': '✗', 'known-gap': '~', undecided: '?' };

export function summarizeIntentLine(result: IntentCheckResult): string {
  const s = result.summary;
  const parts = [`${s.agrees} agree`, `${s.contradicts} contradict`];
  if (s.staleKnown > 0) parts.push(`${s.staleKnown} stale known gap${s.staleKnown === 1 ? '' : 's'}`);
  parts.push(`${s.knownGaps} known gap${s.knownGaps === 1 ? '' : 's'}`);
  if (s.undecided > 0) parts.push(`${s.undecided} undecided offline`);
  return `${s.total} cells: ${parts.join(', ')}`;
}

function failing(result: IntentCheckResult): IntentCell[] {
  return result.cells.filter((c) => c.status === 'contradicts' || c.status === 'stale-known');
}

export function renderIntentTable(result: IntentCheckResult): string {
  const out: string[] = [`netcheck check ${result.scenario} (${result.file}) · the scenario's intent vs the policies in its manifests, no cluster`];
  const section = (title: string, cells: IntentCell[], detail: boolean): void => {
    if (cells.length === 0) return;
    out.push('', `${title} (${cells.length}):`);
    for (const c of cells) {
      out.push(`  ${MARK[c.status]} ${c.source} → ${c.target}: intent ${c.expect}, policy ${c.policy} (${formatLocation(c.location)})`);
      out.push(`      why: ${c.reason}`);
      if (detail) for (const line of c.policyExplanation.slice(1)) out.push(`      policy: ${line}`);
    }
  };
  section('Failures', failing(result), true);
  section('Known gaps, still produced by the policies', result.cells.filter((c) => c.status === 'known-gap'), false);
  section('Undecided offline (netcheck run decides them)', result.cells.filter((c) => c.status === 'undecided'), false);
  out.push('', `${result.summary.failed === 0 ? 'PASS' : 'FAIL'} ${summarizeIntentLine(result)}`);
  return out.join('\n') + '\n';
}

export function renderIntentJson(result: IntentCheckResult): string {
  const document = {
    scenario: result.scenario,
    file: result.file,
    summary: result.summary,
    cells: result.cells.map((c) => ({
      source: c.source,
      target: c.target,
      expect: c.expect,
      policy: c.policy,
      status: c.status,
      reason: c.reason,
      known: c.known ?? null,
      location: formatLocation(c.location),
      knownLocation: c.knownLocation ? formatLocation(c.knownLocation) : null,
      policyExplanation: c.policyExplanation,
    })),
  };
  return JSON.stringify(document, null, 2) + '\n';
}

export function renderIntentMarkdown(result: IntentCheckResult): string {
  const s = result.summary;
  const out = [`## netcheck check · ${md(result.scenario)} · ${s.failed === 0 ? '✅ pass' : `❌ ${s.failed} failed`}`, ''];
  out.push(`The scenario's intent against the policies in its manifests (no cluster): ${md(summarizeIntentLine(result))}.`);
  const table = (cells: IntentCell[]): string[] => [
    '| | Source | Target | Intent | Policy | Status | Why |',
    '|---|---|---|---|---|---|---|',
    ...cells.map((c) => `| ${[MARK[c.status], c.source, c.target, c.expect, c.policy, c.status, c.reason].map(md).join(' | ')} |`),
  ];
  const failures = failing(result);
  if (failures.length > 0) out.push('', '### Failures', '', ...table(failures));
  const known = result.cells.filter((c) => c.status === 'known-gap');
  if (known.length > 0) out.push('', '### Known gaps', '', ...known.map((c) => `- ${md(c.source)} → ${md(c.target)}: ${md(c.known ?? '')}`));
  const undecided = result.cells.filter((c) => c.status === 'undecided');
  if (undecided.length > 0) out.push('', '### Undecided offline', '', ...undecided.map((c) => `- ${md(c.source)} → ${md(c.target)}: ${md(c.reason)}`));
  out.push('', '<details><summary>All cells</summary>', '', ...table(result.cells), '', '</details>');
  return out.join('\n') + '\n';
}

export function renderIntentJunit(result: IntentCheckResult): string {
  const s = result.summary;
  const skipped = s.knownGaps + s.undecided;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  // The Jenkins JUnit schema (test/fixtures/junit) allows no `skipped` on <testsuites>: the suite carries it.
  out.push(`<testsuites name="netcheck check" tests="${s.total}" failures="${s.failed}" errors="0" time="0">`);
  out.push(`  <testsuite name="${escapeXmlAttr(result.scenario)}" tests="${s.total}" failures="${s.failed}" errors="0" skipped="${skipped}" time="0">`);
  for (const c of result.cells) {
    const open = `    <testcase classname="${escapeXmlAttr(`${result.scenario}.${c.source}`)}" name="${escapeXmlAttr(`${c.source} → ${c.target} (${c.expect})`)}" time="0"`;
    switch (c.status) {
      case 'agrees':
        out.push(`${open}/>`);
        break;
      case 'contradicts':
      case 'stale-known': {
        const body = [c.reason, `at ${formatLocation(c.location)}`, ...c.policyExplanation.map((l) => `policy: ${l}`)].join('\n');
        out.push(`${open}>`, `      <failure message="${escapeXmlAttr(c.reason)}" type="${c.status}">${escapeXmlText(body)}</failure>`, '    </testcase>');
        break;
      }
      case 'known-gap':
      case 'undecided':
        out.push(`${open}>`, `      <skipped message="${escapeXmlAttr(c.reason)}"/>`, '    </testcase>');
        break;
    }
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}
