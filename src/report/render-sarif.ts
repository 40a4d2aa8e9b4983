/**
 * `netcheck lint -o sarif=FILE`: SARIF 2.1.0 for code scanning (GitHub shows each result as an annotation on the
 * manifest line). One result per finding: ruleId = the NC id, level from the severity (info → note), the manifest
 * object's file relative to `baseDir` (the repository root when CI runs from it) and its line. Every rule is listed
 * in tool.driver.rules with its help, so a rule with no result still has a description. Pure.
 */
import path from 'node:path';
import { LINT_RULE_HELP, LINT_RULES, type LintFinding, type LintRuleId, type LintSeverity } from '../policy/lint.js';

const LEVEL: Record<LintSeverity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

export interface SarifOptions {
  /** Paths in the report are relative to this directory (absolute paths outside it become file: URIs). */
  baseDir: string;
  toolVersion?: string;
}

/** "dir/file.yaml:12" → a SARIF artifact URI and line; a path outside baseDir stays absolute. */
function toLocation(source: string, baseDir: string): { uri: string; line: number | undefined; relative: boolean } {
  const m = /^(.*):(\d+)$/.exec(source);
  const file = m ? (m[1] as string) : source;
  const line = m ? Number(m[2]) : undefined;
  const absolute = path.resolve(baseDir, file);
  const relative = path.relative(baseDir, absolute);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const segments = (inside ? relative : absolute).split(path.sep).map(encodeURIComponent);
  return { uri: inside ? segments.join('/') : `file://${segments.join('/')}`, line, relative: inside };
}

export function renderLintSarif(findings: readonly LintFinding[], options: SarifOptions): string {
  const ids = Object.keys(LINT_RULES) as LintRuleId[];
  const rules = ids.map((id) => ({
    id,
    name: LINT_RULES[id],
    shortDescription: { text: LINT_RULES[id] },
    fullDescription: { text: LINT_RULE_HELP[id] },
    help: { text: LINT_RULE_HELP[id] },
  }));
  const results = findings.map((f) => {
    const subject = f.policy ?? (f.namespace ? `namespace ${f.namespace}` : '');
    const result: Record<string, unknown> = {
      ruleId: f.id,
      ruleIndex: ids.indexOf(f.id as LintRuleId),
      level: LEVEL[f.severity],
      message: { text: `${subject ? `${subject}: ` : ''}${f.message}. Fix: ${f.hint}` },
    };
    if (f.source !== undefined) {
      const { uri, line, relative } = toLocation(f.source, options.baseDir);
      result['locations'] = [
        {
          physicalLocation: {
            artifactLocation: relative ? { uri, uriBaseId: '%SRCROOT%' } : { uri },
            ...(line !== undefined ? { region: { startLine: line } } : {}),
          },
        },
      ];
    }
    return result;
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'netcheck',
            ...(options.toolVersion !== undefined ? { version: options.toolVersion } : {}),
            rules,
          },
        },
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}
