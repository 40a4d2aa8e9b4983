/**
 * The scenario model: the expected policy matrix, after loading and validation.
 * Expectations are fixed here, before anything runs (house style rule 4).
 */
import type { SourceLocation } from '../model/errors.js';
import type { Labels, Protocol } from '../policy/types.js';

export type Expectation = 'allow' | 'deny';

/**
 * An expectation at the level of the outcome (`matrix.<source>.refused: [...]`): stricter than allow/deny.
 * `connected` ⇒ allow; `refused` (the connection was rejected) and `blocked` (timeout or unreachable: dropped) ⇒
 * deny; `nxdomain` (the name does not exist; DNS answered) ⇒ allow, for the lookup's path. The policy column and the
 * exit code read the allow/deny it maps to; the verdict also checks the outcome.
 */
export type OutcomeExpectation = 'connected' | 'refused' | 'blocked' | 'nxdomain';

/** The allow/deny an outcome-level expectation stands for (see OutcomeExpectation). */
export function intentOf(expectation: OutcomeExpectation): Expectation {
  return expectation === 'refused' || expectation === 'blocked' ? 'deny' : 'allow';
}

export interface ScenarioDefaults {
  /** Per-check connect/DNS timeout. */
  timeoutMs: number;
  /** Extra attempts for a check whose outcome differs from its expectation. */
  retries: number;
}

export type Source =
  | {
      kind: 'pod';
      name: string;
      namespace: string;
      /** Labels the probe pod carries (cloned from `as` at run time, then these on top). */
      labels: Labels;
      /** Clone labels from a workload, e.g. { kind: 'deployment', name: 'mlflow' }. */
      as?: { kind: string; name: string };
      node?: string;
      location: SourceLocation;
    }
  | {
      kind: 'runner';
      name: string;
      /**
       * The address the runner's traffic carries when it reaches pods (after any SNAT), from `address:`; decides
       * ipBlock rules. `--runner-address` overrides it. Absent: cells that depend on it are `unknown`.
       */
      address?: string;
      location: SourceLocation;
    };

export interface HttpCheck {
  path: string;
  /** Expected status; absent means any HTTP response counts as connected. */
  expectStatus?: number;
}

export type Target =
  | { kind: 'dns'; name: string; host: string; protocol: 'UDP' | 'TCP'; location: SourceLocation }
  | {
      kind: 'service';
      name: string;
      service: string;
      namespace: string;
      port: number | string;
      protocol: Protocol;
      http?: HttpCheck;
      /** `clusterIP`: probe the Service's ClusterIP and port directly, no DNS (tests the network path alone). */
      via?: 'clusterIP';
      location: SourceLocation;
    }
  | {
      /** netcheck deploys a listener pod with these labels in the namespace and probes it by pod IP. */
      kind: 'listener';
      name: string;
      namespace: string;
      labels: Labels;
      port: number;
      /** The listener pod declares its containerPort with this name (`port: {name, number}`), so `port: NAME` policies resolve. */
      portName?: string;
      protocol: Protocol;
      /**
       * The node the listener runs on. Without it, a `--per-node` run deploys one listener per node, so every
       * (source node, destination node) pair is tested; other runs let the scheduler choose.
       */
      node?: string;
      location: SourceLocation;
    }
  | {
      kind: 'address';
      name: string;
      address: string;
      port: number;
      protocol: Protocol;
      http?: HttpCheck;
      location: SourceLocation;
    };

export interface ExpectedCell {
  source: string;
  target: string;
  expect: Expectation;
  /** An outcome-level expectation (`connected`, `refused`, `blocked`, `nxdomain`); `expect` is what it maps to. */
  outcome?: OutcomeExpectation;
  /**
   * A known, explained failure (e.g. a contradiction in the platform's own policies).
   * The cell is reported as `known-gap` instead of failing the run; if it unexpectedly passes, that is reported too.
   */
  known?: string;
  /** Where the `known:` entry is, so a stale one can be pointed at. */
  knownLocation?: SourceLocation;
  location: SourceLocation;
}

export interface Scenario {
  name: string;
  description?: string;
  /** Absolute path of the scenario file. */
  file: string;
  /** Manifest paths (absolute) describing the platform, for offline analysis. */
  manifests: string[];
  defaults: ScenarioDefaults;
  sources: Source[];
  targets: Target[];
  cells: ExpectedCell[];
}
