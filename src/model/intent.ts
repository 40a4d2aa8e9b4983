/**
 * `netcheck check`: the scenario's intent against what the policies in its manifests say, per cell, before
 * anything is deployed. Nothing is observed, so this is its own result rather than a RunResult (see
 * src/report/render-intent.ts for why).
 */
import type { SourceLocation } from './errors.js';
import type { PolicyView } from './verdict.js';

export type IntentStatus =
  | 'agrees'        // the policies do what the intent says
  | 'contradicts'   // the policies do the opposite, and the cell is not a declared known gap: fails the check
  | 'known-gap'     // a declared known gap the policies still produce
  | 'stale-known'   // a declared known gap the policies no longer produce: the `known:` entry must go; fails the check
  | 'undecided';    // policy cannot decide this cell offline (the runner's address, an external address, ...)

export interface IntentCell {
  source: string;
  target: string;
  expect: 'allow' | 'deny';
  policy: PolicyView;
  status: IntentStatus;
  /** One line: why the cell has this status. */
  reason: string;
  /** The engine's explanation, deciding direction first (names the policy and rule). */
  policyExplanation: string[];
  /** The scenario's reason, for a declared known gap. */
  known?: string;
  /** The matrix entry. */
  location: SourceLocation;
  /** The `known:` entry, for a declared known gap. */
  knownLocation?: SourceLocation;
}

export interface IntentSummary {
  total: number;
  agrees: number;
  contradicts: number;
  knownGaps: number;
  staleKnown: number;
  undecided: number;
  /** contradicts + staleKnown: the check fails when this is not 0. */
  failed: number;
}

export interface IntentCheckResult {
  scenario: string;
  /** The scenario file as the user named it. */
  file: string;
  cells: IntentCell[];
  summary: IntentSummary;
}
