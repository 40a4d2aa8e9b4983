/**
 * JUnit XML for CI: one testsuite per run, one testcase per cell, valid against the Jenkins JUnit schema
 * (test/fixtures/junit/junit-10.xsd, which Jenkins, GitLab and GitHub's test reporters read; its README says why not
 * Ant's). A testcase's name is the cell's stable name (cellName); where its probe ran is in its <system-out>, with
 * the run-level findings about it (GitLab shows only per-testcase output). A mismatch is a <failure> whose type
 * is the classification and whose text is the diagnosis; a check that could not run is an <error>; a known gap
 * is <skipped> with the scenario's reason.
 */
import { escapeXmlAttr, escapeXmlText } from './xml-text.js';
import { describeOutcome } from '../model/outcome.js';
import type { CellVerdict, RunResult } from '../model/verdict.js';
import { findingActionLine } from './finding-action.js';
import { rootCauses } from '../diagnose/root-causes.js';
import { caseResult, cellName, runFindingsAbout, type CaseResult } from './cell-text.js';

export function renderJunit(result: RunResult): string {
  const counts: Record<CaseResult, number> = { pass: 0, failure: 0, error: 0, skipped: 0 };
  for (const c of result.cells) counts[caseResult(c)]++;
  const tests = result.cells.length;
  const seconds = elapsedSeconds(result);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  // The schema allows no `skipped` on <testsuites>: the skipped count is the testsuite's.
  out.push(`<testsuites name="netcheck" tests="${tests}" failures="${counts.failure}" errors="${counts.error}" time="${seconds}">`);
  out.push(
    `  <testsuite name="${attr(result.scenario)}" tests="${tests}" failures="${counts.failure}" errors="${counts.error}" skipped="${counts.skipped}" time="${seconds}" timestamp="${attr(result.startedAt)}">`,
  );
  out.push('    <properties>');
  out.push(`      <property name="runId" value="${attr(result.runId)}"/>`);
  if (result.cluster.server) out.push(`      <property name="server" value="${attr(result.cluster.server)}"/>`);
  if (result.cluster.context) out.push(`      <property name="context" value="${attr(result.cluster.context)}"/>`);
  out.push('    </properties>');
  const { causeOf } = rootCauses(result);
  for (const c of result.cells) out.push(...testcase(result, c, c.cause ?? causeOf.get(c)?.name));
  const findings = result.findings ?? [];
  if (findings.length > 0) {
    const lines = findings.map((f) => `finding: ${f}${((a) => (a !== undefined ? ` (${a})` : ''))(findingActionLine(result, f))}`);
    out.push(`    <system-out>${text(lines.join('\n'))}</system-out>`);
  }
  out.push('  </testsuite>');
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

function testcase(result: RunResult, c: CellVerdict, cause: string | undefined): string[] {
  const time = (c.attempts.reduce((sum, a) => sum + a.ms, 0) / 1000).toFixed(3);
  const lines = [`    <testcase classname="${attr(`${result.scenario}.${c.source}`)}" name="${attr(cellName(c))}" time="${time}">`];
  // The cause first: a CI page listing 22 failures then shows one cause 22 times, not 22 different reasons.
  const message = `[${c.classification}] ${cause !== undefined ? `cause: ${cause} — ` : ''}${c.reason}`;
  switch (caseResult(c)) {
    case 'pass':
      break;
    case 'skipped':
      lines.push(`      <skipped message="${attr(c.reason)}"/>`);
      break;
    case 'error':
      lines.push(`      <error message="${attr(message)}" type="${attr(c.classification)}">${text(diagnosis(c, cause))}</error>`);
      break;
    case 'failure':
      lines.push(`      <failure message="${attr(message)}" type="${attr(c.classification)}">${text(diagnosis(c, cause))}</failure>`);
      break;
  }
  lines.push(`      <system-out>${text(caseOutput(result, c))}</system-out>`);
  lines.push('    </testcase>');
  return lines;
}

/** One `key: value` per line, for people and for scripts: where the check ran, what it saw, what the run found about it. */
function caseOutput(result: RunResult, c: CellVerdict): string {
  return [
    ...(c.node !== undefined ? [`node: ${c.node}`] : []),
    ...(c.probe !== undefined ? [`probe: ${c.probe}`] : []),
    `observed: ${describeOutcome(c.outcome)}`,
    `policy: ${c.policy}`,
    `classification: ${c.classification}`,
    ...runFindingsAbout(result, c).map((f) => `run finding: ${f}`),
  ].join('\n');
}

function diagnosis(c: CellVerdict, cause: string | undefined): string {
  const lines = [
    `expected ${c.expect}, observed ${describeOutcome(c.outcome)}, policy ${c.policy}: ${c.classification}`,
    ...(cause !== undefined ? [`cause: ${cause}`] : []),
    c.reason,
    ...(c.policyExplanation ?? []).map((l) => `policy: ${l}`),
    ...(c.findings ?? []).map((f) => `finding: ${f}`),
    ...c.attempts.map((a, i) => `attempt ${i + 1}: ${describeOutcome(a.outcome)} in ${a.ms} ms${a.address ? ` (${a.address})` : ''}`),
  ];
  if (c.probe) lines.push(`probe: ${c.probe}${c.node ? ` on ${c.node}` : ''}`);
  return lines.join('\n');
}

function elapsedSeconds(result: RunResult): string {
  const ms = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? (ms / 1000).toFixed(3) : '0';
}

const text = escapeXmlText;
const attr = escapeXmlAttr;
