/**
 * Root cause first (issue 21): the run's failing cells put under the run finding that explains them, causes with
 * the most cells first, and what no finding explains left apart. The reports print these before anything else;
 * every cell a cause explains carries the cause's one name (CellVerdict.cause). Pure.
 */
import type { CellRef, CellVerdict, RunFinding, RunResult } from '../model/verdict.js';

export interface RootCause {
  /** The cause in a few words (RunFinding.cause, else its text). */
  name: string;
  finding: RunFinding;
  /** The failing cells it explains, in the run's order. */
  cells: CellVerdict[];
}

export interface RootCauses {
  /** Most cells first; between equals, the diagnosis' order (its most important first). */
  causes: RootCause[];
  /** Failing cells no finding explains. */
  unexplained: CellVerdict[];
  /** Findings about cells that explain no failing cell (their cells passed, or an earlier cause took them). */
  others: RunFinding[];
  /** Each explained cell's cause. */
  causeOf: ReadonlyMap<CellVerdict, RootCause>;
}

export function causeName(f: Pick<RunFinding, 'text' | 'cause'>): string {
  return f.cause ?? f.text;
}

/** Cells that fail the run: not passing, and not a known gap. */
function failing(c: CellVerdict): boolean {
  return !c.pass && c.classification !== 'known-gap';
}

function refersTo(ref: CellRef, c: CellVerdict): boolean {
  return ref.source === c.source && ref.target === c.target && (ref.node === undefined || ref.node === c.node);
}

/**
 * Each failing cell goes to the FIRST finding that names it (the diagnosis orders findings most important first:
 * a missing Service before a broken node before DNS before policy gaps), so a cell is counted once.
 */
export function rootCauses(result: Pick<RunResult, 'cells' | 'findingCells'>): RootCauses {
  const findings = result.findingCells ?? [];
  const byFinding = new Map<RunFinding, CellVerdict[]>();
  const unexplained: CellVerdict[] = [];
  for (const c of result.cells.filter(failing)) {
    const f = findings.find((x) => x.cells.some((ref) => refersTo(ref, c)));
    if (f === undefined) unexplained.push(c);
    else byFinding.set(f, [...(byFinding.get(f) ?? []), c]);
  }
  const causes = findings
    .filter((f) => byFinding.has(f))
    .map((f) => ({ name: causeName(f), finding: f, cells: byFinding.get(f) as CellVerdict[] }))
    .sort((a, b) => b.cells.length - a.cells.length);
  const causeOf = new Map<CellVerdict, RootCause>();
  for (const cause of causes) for (const c of cause.cells) causeOf.set(c, cause);
  return { causes, unexplained, others: findings.filter((f) => !byFinding.has(f)), causeOf };
}

/**
 * Per-cell findings that name cluster DNS in their own words (src/run/judge-results.ts, src/diagnose/diagnose-cell.ts
 * on the kube-dns Service): a cell whose cause is a DNS finding cites that cause instead, so 22 cells do not name one
 * outage three ways.
 */
const CLUSTER_DNS_WORDING = /^(service kube-system\/kube-dns has no ready endpoints|cluster DNS: |policies allow this source to reach cluster DNS: )/;

/** The cells with their cause's name set (and DNS wording the cause replaces dropped); other cells as they were. */
export function withCauses(cells: readonly CellVerdict[], findings: readonly RunFinding[]): CellVerdict[] {
  const { causeOf } = rootCauses({ cells: [...cells], findingCells: [...findings] });
  return cells.map((c) => {
    const cause = causeOf.get(c);
    if (cause === undefined) return c;
    const dns = cause.finding.kind === 'dns-chain' || cause.finding.kind === 'dns-down';
    const findings = dns ? (c.findings ?? []).filter((f) => !CLUSTER_DNS_WORDING.test(f)) : c.findings;
    const { findings: _old, ...rest } = c;
    return { ...rest, cause: cause.name, ...(findings !== undefined && findings.length > 0 ? { findings } : {}) };
  });
}
