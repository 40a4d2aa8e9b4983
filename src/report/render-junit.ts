/**
 * JUnit XML for CI: one testsuite per run, one testcase per cell. A failure's text is the diagnosis
 * (reason, policy explanation, findings, attempts); a known gap is <skipped> with the scenario's reason.
 */
import { describeOutcome } from '../model/outcome.js';
import type { CellVerdict, RunResult } from '../model/verdict.js';

export function renderJunit(result: RunResult): string {
  const s = result.summary;
  const skipped = s.knownGaps;
  const seconds = elapsedSeconds(result);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="netcheck" tests="${s.total}" failures="${s.failed}" skipped="${skipped}" time="${seconds}">`);
  out.push(
    `  <testsuite name="${attr(result.scenario)}" tests="${s.total}" failures="${s.failed}" errors="0" skipped="${skipped}" time="${seconds}" timestamp="${attr(result.startedAt)}">`,
  );
  out.push('    <properties>');
  out.push(`      <property name="runId" value="${attr(result.runId)}"/>`);
  if (result.cluster.server) out.push(`      <property name="server" value="${attr(result.cluster.server)}"/>`);
  if (result.cluster.context) out.push(`      <property name="context" value="${attr(result.cluster.context)}"/>`);
  out.push('    </properties>');
  for (const c of result.cells) out.push(...testcase(result, c));
  const findings = result.findings ?? [];
  if (findings.length > 0) out.push(`    <system-out>${text(findings.map((f) => `finding: ${f}`).join('\n'))}</system-out>`);
  out.push('  </testsuite>');
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

function testcase(result: RunResult, c: CellVerdict): string[] {
  const node = c.node !== undefined ? ` @${c.node}` : '';
  const name = `${c.source} → ${c.target}${node} (${c.expect})`;
  const time = (c.attempts.reduce((sum, a) => sum + a.ms, 0) / 1000).toFixed(3);
  const open = `    <testcase classname="${attr(`${result.scenario}.${c.source}`)}" name="${attr(name)}" time="${time}"`;
  if (c.pass) return [`${open}/>`];
  if (c.classification === 'known-gap') {
    return [`${open}>`, `      <skipped message="${attr(c.reason)}"/>`, '    </testcase>'];
  }
  const message = `[${c.classification}] ${c.reason}`;
  return [`${open}>`, `      <failure message="${attr(message)}" type="${attr(c.classification)}">${text(diagnosis(c))}</failure>`, '    </testcase>'];
}

function diagnosis(c: CellVerdict): string {
  const lines = [
    `expected ${c.expect}, observed ${describeOutcome(c.outcome)}, policy ${c.policy}: ${c.classification}`,
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

// XML 1.0 forbids most control characters even when escaped; drop them.
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function text(s: string): string {
  return s.replace(INVALID_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;');
}
