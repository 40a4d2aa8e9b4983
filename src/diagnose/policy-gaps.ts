/**
 * Policy gaps grouped by cause: the cells where the policies disagree with the scenario the same way (same
 * direction of the verdict, same namespaces, same missing label) become one finding — "12 cells: ... blocked by
 * the policies" — with who owns the fix and the command to look at it. Pure.
 */
import type { CellVerdict, RunFinding } from '../model/verdict.js';
import { count, finding } from './finding.js';
import { flowArea } from './ownership.js';
import type { RunContext } from './run-context.js';

const LABEL_FIX = /fix: (kubectl label namespace \S+ \S+=\S+)/;

export function findPolicyGapGroups(cells: readonly CellVerdict[], context: RunContext): RunFinding[] {
  const groups = new Map<string, { cells: CellVerdict[]; from?: string; to?: string; fix?: string }>();
  for (const c of cells) {
    if (c.pass || c.classification !== 'policy-gap' || c.known !== undefined || c.policy === 'unknown') continue;
    const from = context.sourceNamespaces[c.source];
    const to = destinationNamespace(c.target, context);
    const fix = (c.findings ?? []).map((f) => LABEL_FIX.exec(f)?.[1]).find((f) => f !== undefined);
    const key = [c.policy, from ?? '(outside)', to ?? '(outside)', fix ?? ''].join('\u0000');
    const group = groups.get(key) ?? { cells: [], ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...(fix !== undefined ? { fix } : {}) };
    group.cells.push(c);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ cells: group, from, to, fix }) => {
    const first = group[0] as CellVerdict;
    const blocked = first.policy === 'deny';
    const flow = `${from !== undefined ? `from ${from}` : 'from outside the cluster'} to ${to ?? 'an address outside the cluster'}`;
    const pairs = [...new Set(group.map((c) => `${c.source} → ${c.target}`))];
    const shown = pairs.length > 4 ? `${pairs.slice(0, 4).join(', ')}, …` : pairs.join(', ');
    const why = fix !== undefined ? (first.findings ?? []).find((f) => LABEL_FIX.test(f)) : (first.policyExplanation ?? [])[0];
    const verdict = blocked ? 'the scenario allows it, the policies block it' : 'the scenario denies it, the policies let it through';
    const area = fix !== undefined ? 'namespace-labels' : flowArea({ ...(from !== undefined ? { sourceNamespace: from } : {}), ...(to !== undefined ? { destinationNamespace: to } : {}) });
    const look = to ?? from;
    const next = fix ?? (look !== undefined ? `kubectl describe networkpolicy -n ${look}` : undefined);
    const cause = fix !== undefined ? `policy gap: traffic ${flow} — ${fix.replace(/^kubectl label namespace (\S+) (\S+)$/, 'namespace $1 lacks label $2')}` : `policy gap: traffic ${flow} — ${verdict}`;
    return finding(`${count(group)}: traffic ${flow} — ${verdict} (${shown})${why ? `: ${why}` : ''}`, group, area, next, cause);
  });
}

function destinationNamespace(target: string, context: RunContext): string | undefined {
  const facts = context.targets[target];
  return facts?.service?.namespace ?? facts?.namespace;
}
