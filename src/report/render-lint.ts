/** `netcheck lint` output: one block per finding (severity, id, subject, message, hint), or one JSON document. */
import type { LintFinding } from '../policy/lint.js';

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
