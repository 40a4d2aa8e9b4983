/** Verdicts: intent × policy × observed, per (source, target) cell. Renderers and diagnosis read these. */
import type { DnsChain } from './dns-chain.js';
import type { Attempt, Outcome } from './outcome.js';

export type PolicyView = 'allow' | 'deny' | 'unknown';

export type ObservedPath = 'open' | 'blocked' | 'unknown';

export type Classification =
  | 'pass'
  | 'known-gap'    // failed exactly as the scenario documents (an accepted, explained contradiction)
  | 'policy-gap'   // policy agrees with observed, disagrees with intent: fix the policy or the scenario
  | 'data-plane'   // policy agrees with intent, observed differs: the CNI/service does not do what the API says
  | 'dns'          // the target name did not resolve
  | 'probe'        // the probe never produced a result (pod did not run, agent error)
  | 'unknown';     // policy cannot decide (external address) and observed disagrees with intent

export interface CellVerdict {
  source: string;
  target: string;
  expect: 'allow' | 'deny';
  /** The scenario's outcome-level expectation (`connected`, `refused`, `blocked`, `nxdomain`), when it gave one; `expect` is what it maps to. */
  expectOutcome?: 'connected' | 'refused' | 'blocked' | 'nxdomain';
  /** What the live NetworkPolicies say (via src/policy), or 'unknown'. */
  policy: PolicyView;
  /** The engine's explanation, one line per direction. */
  policyExplanation?: string[];
  outcome: Outcome;
  attempts: Attempt[];
  /** Node the probe ran on. */
  node?: string;
  /**
   * Node the check was pinned to before anything ran (`--per-node`, or a source's `node:`): part of the check's
   * identity, unlike `node`, which is wherever the scheduler put the probe. Absent when the scheduler chose.
   */
  pinnedNode?: string;
  /**
   * Node the listener target was pinned to (a `--per-node` run deploys one listener per node; a listener target
   * may name its `node:`): part of the check's identity, like pinnedNode for the source.
   */
  targetNode?: string;
  /** Probe pod that ran the check ("namespace/name"), or "runner". */
  probe?: string;
  /**
   * What the observation says about the network path, as the verdict read it (a refusal from a served target is
   * `blocked`; a lookup that never got an answer, a probe error or an ambiguous refusal is `unknown`). Absent when
   * the check did not run. Snapshots compare this.
   */
  path?: ObservedPath;
  pass: boolean;
  classification: Classification;
  /** One line: why it passed or failed. */
  reason: string;
  /**
   * A `service` target whose name did not resolve is tried once more against the Service's ClusterIP, so the
   * cell (still a `dns` fault) also says whether the network path is open.
   */
  clusterIPRetry?: { address: string; port: number; outcome: Outcome; path: ObservedPath };
  /** The scenario's documented reason for a known gap. */
  known?: string;
  /** Extra diagnosis findings (src/diagnose), most relevant first. */
  findings?: string[];
  /** Where the policies deny this flow, when they do (policy `deny`): what a node-by-node migration enforces when. */
  denial?: Denial;
  /**
   * The run-level cause that explains this failing cell (src/diagnose/root-causes.ts): the same words for every cell
   * it explains, whichever path found it (inventory, DNS chain, node attribution). Absent when no finding explains it.
   */
  cause?: string;
}

/**
 * Where a denied flow is stopped once enforced: egress on the source's node, ingress on the node of each
 * destination pod whose ingress rules deny it. A CNI migrated node by node (Flannel → Calico) enforces a denial
 * as soon as one of those nodes runs the enforcing CNI; until then the flow stays open.
 */
export interface Denial {
  /** The source's egress rules deny it (enforced on the source's node). */
  egress: boolean;
  /** Some destination pod's ingress rules deny it. */
  ingress: boolean;
  /** The nodes of those destination pods, sorted; empty when not known (a pod not scheduled yet). */
  ingressNodes: string[];
}

export interface RunSummary {
  total: number;
  passed: number;
  failed: number;
  knownGaps: number;
  byClassification: Record<Classification, number>;
}

export interface RunResult {
  runId: string;
  scenario: string;
  startedAt: string;
  finishedAt: string;
  cluster: { server?: string; context?: string; nodes: string[]; cni?: string; unknown: string[] };
  cells: CellVerdict[];
  summary: RunSummary;
  /** Run-level diagnosis (src/diagnose): patterns across cells, most important first. */
  findings?: string[];
  /**
   * The findings of `findings` that concern particular cells, with those cells (same text, same order); a finding
   * about the run as a whole (e.g. nodes left out of a --per-node run) is not here.
   */
  findingCells?: RunFinding[];
  /** What the cluster looked like when the run read it, for snapshots and diffs (absent when the run stopped before). */
  facts?: ClusterFacts;
  /**
   * The DNS chain walked after the verdicts, one per source whose DNS cells failed (src/run/dns-chain.ts); absent
   * when no DNS cell failed. Each chain's verdict is also a finding (kind 'dns-chain').
   */
  dnsChains?: DnsChain[];
}

/**
 * The cluster facts a CNI migration is followed by: nodes and their labels (Calico's migration controller labels
 * each node `projectcalico.org/node-network-during-migration`), which CNIs run (DaemonSets by name), namespaces and
 * their labels, and the policies with their resourceVersions (so a diff can tell a policy change from a data-plane one).
 */
export interface ClusterFacts {
  nodes: Array<{ name: string; labels: Record<string, string>; ready?: boolean; unschedulable?: boolean }>;
  /** e.g. "calico-node (DaemonSet calico-system/calico-node)"; empty when none recognised, absent when not readable. */
  cni?: string[];
  namespaces: Array<{ name: string; labels: Record<string, string> }>;
  policies: Array<{ kind: string; namespace?: string; name: string; resourceVersion?: string }>;
}

/** A cell a run-level finding is about: its (source, target), and the node its probe ran on when known (a --per-node run has one cell per node). */
export interface CellRef {
  source: string;
  target: string;
  node?: string;
}

export interface RunFinding {
  text: string;
  cells: CellRef[];
  /** Who fixes it, by the platform's responsibility matrix (src/diagnose/ownership.ts), when the finding knows. */
  owner?: 'platform team' | 'application team';
  /** The command to run next (kubectl or netcheck), when there is one. */
  next?: string;
  /**
   * 'dns-chain': the verdict of a walked DNS chain (RunResult.dnsChains); it replaces the 'dns-down' finding (the
   * generic "cluster DNS looks down", which the chain explains link by link).
   */
  kind?: 'dns-chain' | 'dns-down';
  /**
   * The cause in a few words, for the report's `CAUSE n` line (e.g. a DNS chain's verdict "CoreDNS has no ready pod
   * (…)"); `text` is the full finding. Absent: the text is the cause.
   */
  cause?: string;
}
