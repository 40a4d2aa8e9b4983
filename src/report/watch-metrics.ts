/**
 * What `netcheck watch` exports to Prometheus after each run, as plain data: per-cell state, the classification of
 * failing cells with how many consecutive runs they have failed so, findings by kind and owner, and the reason a
 * run could not probe. Pure (run result in, samples out); src/cli/watch-server.ts puts them into prom-client.
 *
 * Cardinality is bounded by the scenario: one series per (source, target, expect) of the scenario (a --per-node run's
 * cells of one pair are folded into one series, never one per node), classifications, finding kinds, owners and
 * error reasons are fixed sets, and nothing carries a run id, a pod name or an address.
 */
import { ClusterError, NetcheckError, ProbeError, ExitCode } from '../model/errors.js';
import type { CellVerdict, Classification, RunResult } from '../model/verdict.js';

/** The labels of one cell's series: the scenario's own names. */
export interface CellLabels {
  scenario: string;
  source: string;
  target: string;
  expect: 'allow' | 'deny';
}

export type FailingClassification = Exclude<Classification, 'pass'>;

export interface CellSample {
  labels: CellLabels;
  /** 1: every check of the cell passed; 0: one failed (a known gap is 0 too, with classification known-gap). */
  ok: 0 | 1;
}

export interface FailingCellSample {
  labels: CellLabels & { classification: FailingClassification };
  /** Consecutive runs, this one included, in which the cell failed with this classification. */
  runs: number;
}

/** Who fixes a finding: the responsibility matrix's owner, or `unassigned` when the finding does not say. */
export type FindingOwner = 'platform' | 'application' | 'unassigned';
/** A finding's kind: the DNS chain's own kinds, else the classification of the cells it is about, else `run`. */
export type FindingKind = 'dns-chain' | 'dns-down' | FailingClassification | 'run';

export interface FindingSample {
  labels: { kind: FindingKind; owner: FindingOwner };
  count: number;
}

/** Why a run could not probe (all or part of it): a fixed set, so the counter's series are known up front. */
export const RUN_ERROR_REASONS = ['cluster-unreachable', 'forbidden', 'probe-pod-failed', 'budget-exceeded', 'scenario-not-on-cluster', 'internal'] as const;
export type RunErrorReason = (typeof RUN_ERROR_REASONS)[number];

/** Consecutive failing runs per cell and classification, carried from one run to the next. */
export type FailureStreaks = ReadonlyMap<string, number>;

export interface RunMetrics {
  cells: CellSample[];
  failing: FailingCellSample[];
  findings: FindingSample[];
  /** Each reason once per run that had it. */
  errors: RunErrorReason[];
  /** The streaks to pass to the next run's runMetrics. */
  streaks: FailureStreaks;
}

/** Which of a pair's failing classifications its series carries: the one an on-call engineer acts on first. */
const SEVERITY: readonly FailingClassification[] = ['data-plane', 'dns', 'policy-gap', 'probe', 'unknown', 'known-gap'];

/**
 * The metrics of one finished run. `failures` are the run's infrastructure failures (ScenarioRun.failures, with
 * stoppedBy among them); a stop that was asked for (SIGTERM) is not an error.
 */
export function runMetrics(result: RunResult, failures: readonly NetcheckError[], previous: FailureStreaks = new Map()): RunMetrics {
  const pairs = new Map<string, { labels: CellLabels; cells: CellVerdict[] }>();
  for (const cell of result.cells) {
    const labels: CellLabels = { scenario: result.scenario, source: cell.source, target: cell.target, expect: cell.expect };
    const key = cellKey(labels);
    const pair = pairs.get(key) ?? { labels, cells: [] };
    pair.cells.push(cell);
    pairs.set(key, pair);
  }
  const cells: CellSample[] = [];
  const failing: FailingCellSample[] = [];
  const streaks = new Map<string, number>();
  for (const [key, { labels, cells: verdicts }] of pairs) {
    const classification = worstClassification(verdicts);
    cells.push({ labels, ok: classification === undefined ? 1 : 0 });
    if (classification === undefined) continue;
    const streakKey = `${key}\u0000${classification}`;
    const runs = (previous.get(streakKey) ?? 0) + 1;
    streaks.set(streakKey, runs);
    failing.push({ labels: { ...labels, classification }, runs });
  }
  return { cells, failing, findings: findingSamples(result), errors: runErrorReasons(failures), streaks };
}

function cellKey(labels: CellLabels): string {
  return [labels.scenario, labels.source, labels.target, labels.expect].join('\u0000');
}

function worstClassification(cells: readonly CellVerdict[]): FailingClassification | undefined {
  const failed = new Set(cells.filter((c) => !c.pass).map((c) => c.classification));
  return SEVERITY.find((c) => failed.has(c));
}

function findingSamples(result: RunResult): FindingSample[] {
  const classOf = new Map(result.cells.map((c) => [`${c.source}\u0000${c.target}`, c.classification] as const));
  const counts = new Map<string, FindingSample>();
  const add = (kind: FindingKind, owner: FindingOwner): void => {
    const key = `${kind}\u0000${owner}`;
    const sample = counts.get(key) ?? { labels: { kind, owner }, count: 0 };
    sample.count += 1;
    counts.set(key, sample);
  };
  const aboutCells = new Set<string>();
  for (const finding of result.findingCells ?? []) {
    aboutCells.add(finding.text);
    const classes = new Set(finding.cells.map((c) => classOf.get(`${c.source}\u0000${c.target}`)));
    const kind = finding.kind ?? SEVERITY.find((c) => classes.has(c)) ?? 'run';
    add(kind, finding.owner === 'platform team' ? 'platform' : finding.owner === 'application team' ? 'application' : 'unassigned');
  }
  // The run-level findings (nodes left out, what the rights hid, a run stopped before probing) name no cell.
  for (const text of result.findings ?? []) if (!aboutCells.has(text)) add('run', 'unassigned');
  return [...counts.values()];
}

function runErrorReasons(failures: readonly NetcheckError[]): RunErrorReason[] {
  const reasons = new Set<RunErrorReason>();
  for (const failure of failures) {
    const reason = runErrorReason(failure);
    if (reason !== undefined) reasons.add(reason);
  }
  return RUN_ERROR_REASONS.filter((r) => reasons.has(r));
}

/** Forbidden-like refusals of the API server and of admission: the rights or the namespace's rules, not the cluster's health. */
const REFUSALS = new Set(['Forbidden', 'Unauthorized', 'Credentials', 'AdmissionDenied', 'PodSecurity', 'QuotaExceeded']);

/** The reason label of one infrastructure failure; undefined for a stop that was asked for. */
export function runErrorReason(error: NetcheckError): RunErrorReason | undefined {
  if (error.exitCode === ExitCode.Interrupted || error.exitCode === ExitCode.Terminated) return undefined;
  // ProbeError wraps the API's refusal of a pod: the cause says which.
  const cause = error instanceof ProbeError && error.cause instanceof ClusterError ? error.cause : error;
  if (cause instanceof ClusterError) {
    if (REFUSALS.has(cause.reason)) return 'forbidden';
    if (cause.reason === 'ScenarioNotOnCluster' || cause.reason === 'NamespaceNotFound' || cause.reason === 'NoUsableNode') return 'scenario-not-on-cluster';
    return 'cluster-unreachable';
  }
  if (error instanceof ProbeError) {
    if (error.reason === 'BudgetExceeded') return 'budget-exceeded';
    if (REFUSALS.has(error.reason)) return 'forbidden';
    return 'probe-pod-failed';
  }
  if (error.exitCode === ExitCode.BadInput) return 'scenario-not-on-cluster';
  return error.exitCode === ExitCode.Infrastructure ? 'cluster-unreachable' : 'internal';
}
