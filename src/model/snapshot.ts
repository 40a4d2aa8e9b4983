/**
 * Snapshots and their diffs: what the network did at one step of a CNI migration, and what changed between two
 * steps. Types only; src/run/snapshot.ts reads, writes and compares them, src/report/render-diff.ts renders.
 */
import type { CellVerdict, ObservedPath, PolicyView, RunResult } from './verdict.js';

export const SNAPSHOT_API_VERSION = 'netcheck.io/v1alpha1';
export const SNAPSHOT_KIND = 'Snapshot';

/**
 * A snapshot file (documented in README "Validating a CNI migration"): the whole run result, so every cell's
 * observation, policy view and explanation are there, plus when, where from and how it was taken.
 */
export interface Snapshot {
  apiVersion: typeof SNAPSHOT_API_VERSION;
  kind: typeof SNAPSHOT_KIND;
  /** netcheck's version that wrote it. */
  netcheckVersion: string;
  takenAt: string;
  /** The scenario's name: two snapshots of different scenarios are not compared. */
  scenario: string;
  /** Probed from every node (`--per-node`): cells are then per (source, target, node). */
  perNode: boolean;
  result: RunResult;
}

/**
 * How a cell changed between two snapshots (or, predicted, once the policies are enforced):
 * - `regression`: against the intent — an allowed flow that was open is now blocked, or a denied flow that was
 *   blocked is now open. What must be fixed before the next node.
 * - `newly-enforced`: a denied flow that was open is now blocked: the migration working.
 * - `opened`: an allowed flow that was blocked is now open.
 * - `still-not-enforced`: the policies say deny, and the flow was open both times (a node not migrated yet, or a
 *   CNI that ignores the policy).
 * - `unchanged`; `not-compared`: a side has no reading (the check did not run, or its result was ambiguous);
 * - `added` / `removed`: the cell exists in one snapshot only (the scenario or the node set changed).
 */
export type CellChangeClass = 'regression' | 'newly-enforced' | 'opened' | 'still-not-enforced' | 'unchanged' | 'not-compared' | 'added' | 'removed';

export const CELL_CHANGE_CLASSES: readonly CellChangeClass[] = ['regression', 'newly-enforced', 'opened', 'still-not-enforced', 'not-compared', 'added', 'removed', 'unchanged'];

export interface CellSide {
  path: ObservedPath | 'not-run';
  /** The observation in words (`refused`, `http:200`, ...). */
  observed: string;
  policy: PolicyView;
  classification: CellVerdict['classification'];
  node?: string;
}

export interface CellChange {
  source: string;
  target: string;
  /** The node the check was pinned to (per-node snapshots): part of the cell's identity. */
  node?: string;
  /** The node the listener target was pinned to (per-node snapshots): the destination side of a node pair. */
  targetNode?: string;
  expect: 'allow' | 'deny';
  known?: string;
  change: CellChangeClass;
  /** Predicted (`diff --predict`) rather than observed. */
  predicted?: boolean;
  /** One line: what changed and what it means. */
  reason: string;
  before?: CellSide;
  after?: CellSide;
  /** Why the policies decide this flow as they do (from the later snapshot), for regressions above all. */
  policyExplanation?: string[];
}

export interface SnapshotSummary {
  takenAt: string;
  context?: string;
  server?: string;
  cni?: string[];
  nodes: string[];
}

export interface SnapshotDiff {
  scenario: string;
  /** `diff`: two snapshots (or a live run against one); `predict`: one snapshot, what enforcement would change. */
  mode: 'diff' | 'predict';
  perNode: boolean;
  before: SnapshotSummary;
  after?: SnapshotSummary;
  /** Every cell, most important class first. */
  changes: CellChange[];
  counts: Record<CellChangeClass, number>;
  /** What changed in the cluster itself: nodes and their migration labels, CNI DaemonSets, namespace labels, policies. */
  factChanges: string[];
  /**
   * The cluster as the later snapshot (the only one, predicting) saw it: each node's readiness, cordon and
   * migration labels, each CNI with its nodes. Absent when the snapshot has no facts.
   */
  facts?: string[];
  /** Predicting a step of a migration: the nodes assumed to enforce the policies (absent: all). */
  enforcing?: string[];
}
