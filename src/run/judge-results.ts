/**
 * From what ran to verdicts: each planned check's observation (the agent's result, or why there is none),
 * the policy column, the verdict and, for a failing cell, the diagnosis. Pure: results, snapshot and engine in.
 */
import { describeMissingEndpoints, diagnoseCell, type CellContext } from '../diagnose/diagnose-cell.js';
import type { AgentCheckResult } from '../model/outcome.js';
import type { CellVerdict } from '../model/verdict.js';
import { matchesSelector } from '../policy/selectors.js';
import type { ClusterSnapshot, Labels, PodInfo } from '../policy/types.js';
import type { ProbePodResult } from '../probe/lifecycle.js';
import type { Source, Target } from '../scenario/types.js';
import { resolveSourceLabels, RUNNER, type ListenerPodPlan, type PlannedCheck, type ProbePodPlan } from './plan.js';
import { assessCellPolicy, type AssessOptions, type FlowEvaluator, type PolicyAssessment } from './policy-view.js';
import { judgeCell, type Observation } from './verdict.js';

/** What the local runner produced: its results, or why it failed. */
export type RunnerOutcome = { results: AgentCheckResult[] } | { error: string };

export interface RunResults {
  podResults: ProbePodResult[];
  /** Absent when the scenario has no runner checks, or the runner never ran. */
  runner: RunnerOutcome | undefined;
  /** Why a pod that never settled has no results (the budget ran out), when that is known. */
  pendingReason?: string;
}

export interface JudgeContext {
  snapshot: ClusterSnapshot;
  engine: FlowEvaluator;
  workloadLabels: Readonly<Record<string, Labels>>;
  assess: AssessOptions;
}

/** A listener pod the run started, Ready at `ip`. */
export interface StartedListener {
  plan: Pick<ListenerPodPlan, 'namespace' | 'labels' | 'node' | 'listen'>;
  name: string;
  ip: string;
  node?: string;
}

/**
 * The inventory as it stands while the checks run: the listener pods the run started (the inventory was read before
 * they existed) are pods too, and a Service whose selector matches them has them as ready endpoints — they become
 * Ready and, unlike probe pods, carry no readiness gate. So a cell to such a Service is judged toward the listener,
 * not reported as a Service that selects no pod.
 */
export function withListenerPods<T extends Pick<ClusterSnapshot, 'pods' | 'services'>>(snapshot: T, listeners: readonly StartedListener[]): T {
  if (listeners.length === 0) return snapshot;
  const pods: PodInfo[] = listeners.map((l) => ({
    namespace: l.plan.namespace,
    name: l.name,
    labels: l.plan.labels,
    ip: l.ip,
    ...((l.node ?? l.plan.node) !== undefined ? { node: (l.node ?? l.plan.node) as string } : {}),
    ports: l.plan.listen.map((p) => ({ containerPort: p.port, protocol: p.protocol, ...(p.name !== undefined ? { name: p.name } : {}) })),
  }));
  const services = snapshot.services.map((svc) => {
    const selector = svc.selector;
    if (svc.readyEndpoints === undefined || !selector || Object.keys(selector).length === 0) return svc;
    const backing = pods.filter((p) => p.namespace === svc.namespace && matchesSelector({ matchLabels: selector }, p.labels)).length;
    return backing === 0 ? svc : { ...svc, readyEndpoints: svc.readyEndpoints + backing };
  });
  return { ...snapshot, pods: [...snapshot.pods, ...pods], services };
}

export function judgeResults(plan: { checks: PlannedCheck[]; pods: ProbePodPlan[] }, results: RunResults, context: JudgeContext): CellVerdict[] {
  const byPod = new Map(results.podResults.map((r) => [r.key, r]));
  const { snapshot, engine, workloadLabels, assess } = context;

  return plan.checks.map((planned) => {
    const { cell, source, target } = planned;
    const { observed, node, probe, sourceIp, fallback } = observe(planned, plan.pods, byPod, results);
    const sourceLabels = source.kind === 'pod' ? resolveSourceLabels(source, workloadLabels) : {};
    // A --per-node listener is one per node: the policy view (its denial's ingress node above all) is toward that one.
    const placed = target.kind === 'listener' && planned.targetNode !== undefined ? { ...target, node: planned.targetNode } : target;
    const policy = assessCellPolicy(engine, snapshot, source, sourceLabels, node, placed, { ...assess, ...(sourceIp !== undefined ? { sourceIp } : {}) });
    const verdict = judgeCell({
      cell,
      target,
      policy,
      observed,
      ...(node !== undefined ? { node } : {}),
      ...(probe !== undefined ? { probe } : {}),
      ...(policy.service?.readyEndpoints !== undefined ? { readyEndpoints: policy.service.readyEndpoints, service: `${policy.service.namespace}/${policy.service.name}` } : {}),
      ...(fallback !== undefined && planned.check?.port !== undefined ? { clusterIPRetry: { address: fallback.target, port: planned.check.port, outcome: fallback.outcome } } : {}),
    });
    // The node the plan pinned the check to is part of the check; `node` is wherever its probe ran.
    if (planned.node !== undefined) verdict.pinnedNode = planned.node;
    if (planned.targetNode !== undefined) verdict.targetNode = planned.targetNode;
    if (policy.denial !== undefined && verdict.policy === 'deny') verdict.denial = policy.denial;
    const findings = findingsFor(verdict, { source, sourceLabels, node, target, policy }, context);
    if (findings.length > 0) verdict.findings = findings;
    return verdict;
  });
}

/** The check's result, or why it has none; the node and probe it ran on, as far as they are known. */
function observe(
  planned: PlannedCheck,
  pods: ProbePodPlan[],
  byPod: ReadonlyMap<string, ProbePodResult>,
  results: RunResults,
): { observed: Observation; node: string | undefined; probe: string | undefined; sourceIp: string | undefined; fallback: AgentCheckResult['fallback'] } {
  let node = planned.node;
  let probe: string | undefined;
  let sourceIp: string | undefined;
  let agentResults: AgentCheckResult[] | undefined;
  let missing: string | undefined;
  if (planned.runsOn === RUNNER) {
    probe = RUNNER;
    const runner = results.runner;
    if (runner && 'results' in runner) agentResults = runner.results;
    else missing = runner?.error ?? 'the runner did not run';
  } else {
    const pod = byPod.get(planned.runsOn);
    if (pod) {
      probe = `${pod.namespace}/${pod.name}`;
      node = pod.node ?? node;
      if (pod.kind === 'done') {
        agentResults = pod.results;
        sourceIp = pod.ip;
      }
      else missing = pod.error.message;
    } else {
      const title = pods.find((p) => p.key === planned.runsOn);
      missing = results.pendingReason ?? `probe pod for ${title?.sources.join(', ') ?? planned.runsOn} did not finish`;
    }
  }
  let observed: Observation;
  let fallback: AgentCheckResult['fallback'];
  if (planned.skipped !== undefined) observed = { kind: 'not-run', reason: planned.skipped };
  else if (agentResults) {
    const r = agentResults.find((x) => x.id === planned.id);
    observed = r ? { kind: 'observed', outcome: r.outcome, attempts: r.attempts } : { kind: 'not-run', reason: 'the agent did not report this check' };
    fallback = r?.fallback;
  } else observed = { kind: 'not-run', reason: missing ?? 'the check did not run' };
  return { observed, node, probe, sourceIp, fallback };
}

interface CellFacts {
  source: Source;
  sourceLabels: Labels;
  node: string | undefined;
  target: Target;
  policy: PolicyAssessment;
}

function findingsFor(verdict: CellVerdict, cell: CellFacts, { snapshot, engine, assess }: JudgeContext): string[] {
  if (verdict.pass) return [];
  const { source, sourceLabels, node, target, policy } = cell;
  const context: CellContext = { ...(source.kind === 'pod' ? { sourceNamespace: source.namespace } : {}) };
  const destination = destinationNamespace(target, policy);
  if (destination !== undefined) context.destinationNamespace = destination;
  if (policy.service) context.service = policy.service;
  const findings = diagnoseCell(verdict, snapshot, policy.flows, context);
  if (verdict.classification === 'dns' && target.kind !== 'dns' && source.kind === 'pod') {
    // The name did not resolve: what does policy say about this source's own DNS traffic?
    const dnsTarget: Target = { kind: 'dns', name: 'cluster-dns', host: 'kube-dns.kube-system', protocol: 'UDP', location: target.location };
    const dns = assessCellPolicy(engine, snapshot, source, sourceLabels, node, dnsTarget, assess);
    if (dns.view === 'deny') {
      findings.unshift(`policy denies this source's DNS lookups: ${dns.explanation[0] ?? ''}`);
      findings.push(...diagnoseCell({ ...verdict, policy: 'deny' }, snapshot, dns.flows, { sourceNamespace: source.namespace, destinationNamespace: 'kube-system' }));
    } else if (dns.view === 'allow') {
      findings.push('policies allow this source to reach cluster DNS: the DNS service itself is down, or its packets are dropped');
    } else {
      const missing = dns.service !== undefined ? describeMissingEndpoints(dns.service) : undefined;
      if (missing !== undefined) findings.push(`cluster DNS: ${missing}: no name resolves, whatever the policies say`);
    }
  }
  return [...new Set(findings)];
}

function destinationNamespace(target: Target, policy: PolicyAssessment): string | undefined {
  switch (target.kind) {
    case 'dns':
      return policy.service?.namespace ?? 'kube-system';
    case 'service':
    case 'listener':
      return target.namespace;
    case 'address':
      return policy.service?.namespace;
  }
}
