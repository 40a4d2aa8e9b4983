/** `netcheck lint` output: one block per finding (severity, id, subject, message, hint), one JSON document, or JUnit. */
import { LINT_RULES, type LintFailOn, type LintFinding, type LintRuleId, type LintSeverity } from '../policy/lint.js';
import { escapeXmlAttr, escapeXmlText } from './xml-text.js';

export function renderLintTable(findings: readonly LintFinding[]): string {
  if (findings.length === 0) return 'no findings\n';
  const out: string[] = [];
  for (const f of findings) {
    const subject = f.policy ?? (f.namespace ? `namespace ${f.namespace}` : '');
    out.push(`${f.severity.toUpperCase().padEnd(7)} ${f.id} ${subject ? `${subject}: ` : ''}${f.message}`);
    out.push(`        hint: ${f.hint}`);
  }
  const count = (s: LintFinding['severity']): number => findings.filter((f) => f.severity === s).length;
  out.push('');
  out.push(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info`);
  return `${out.join('\n')}\n`;
}

export function renderLintJson(findings: readonly LintFinding[], skipped: Record<string, number> = {}): string {
  return `${JSON.stringify({ findings, skipped }, null, 2)}\n`;
}

const SEVERITY_RANK: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

/**
 * JUnit for CI test reports: one testcase per finding (classname `netcheck.lint.NCxxx`, named by its subject and
 * message, so a finding keeps its name from run to run), plus one passing `no findings` case per clean rule. A
 * finding that fails the lint under `--fail-on` is a <failure> typed by its severity; a milder one passes and says
 * itself in <system-out>.
 */
export function renderLintJunit(findings: readonly LintFinding[], failOn: LintFailOn): string {
  const fails = (f: LintFinding): boolean => failOn !== 'none' && SEVERITY_RANK[f.severity] <= SEVERITY_RANK[failOn];
  const failures = findings.filter(fails).length;
  const cases: string[] = [];
  for (const id of Object.keys(LINT_RULES) as LintRuleId[]) {
    const mine = findings.filter((f) => f.id === id);
    const classname = `netcheck.lint.${id}`;
    if (mine.length === 0) cases.push(`    <testcase classname="${escapeXmlAttr(classname)}" name="${escapeXmlAttr(`${LINT_RULES[id]}: no findings`)}" time="0"/>`);
    for (const f of mine) {
      const subject = f.policy ?? (f.namespace ? `namespace ${f.namespace}` : '');
      const open = `    <testcase classname="${escapeXmlAttr(classname)}" name="${escapeXmlAttr(`${subject ? `${subject}: ` : ''}${f.message}`)}" time="0">`;
      const body = [`${f.severity.toUpperCase()} ${f.id} ${f.message}`, `hint: ${f.hint}`, ...(f.source ? [`at ${f.source}`] : [])].join('\n');
      const inner = fails(f)
        ? `      <failure message="${escapeXmlAttr(`${f.id}: ${f.message}`)}" type="${f.severity}">${escapeXmlText(body)}</failure>`
        : `      <system-out>${escapeXmlText(body)}</system-out>`;
      cases.push(open, inner, '    </testcase>');
    }
  }
  const tests = findings.length + (Object.keys(LINT_RULES) as LintRuleId[]).filter((id) => !findings.some((f) => f.id === id)).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="netcheck lint" tests="${tests}" failures="${failures}" errors="0" time="0">`,
    `  <testsuite name="netcheck lint" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="0">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
