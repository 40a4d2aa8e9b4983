/**
 * `netcheck run`: inventory → policy engine → `as:` labels → listeners → plan → probe pods and the local
 * runner in parallel → verdicts → diagnosis. Everything it creates carries the run id and is deleted in
 * `finally` (also when `signal` aborts: SIGINT/SIGTERM).
 */
import { isNamespaceScoped } from '../cluster/api-errors.js';
import type { ClusterClient, Inventory, WorkloadKind } from '../cluster/types.js';
import { attributeNodeFaults } from '../diagnose/attribute-nodes.js';
import { diagnoseCells, type TargetKinds } from '../diagnose/diagnose-run.js';
import { withDnsChainFindings } from '../diagnose/dns-chain.js';
import { describeMigrationState } from '../diagnose/migration-state.js';
import { withCauses } from '../diagnose/root-causes.js';
import { walkDnsChainsAfterRun } from './dns-chain.js';
import { buildRunContext, scenarioArgument } from '../diagnose/run-context.js';
import { ClusterError, ExitCode, NetcheckError, ProbeError, ScenarioError } from '../model/errors.js';
import type { AgentPlan } from '../model/outcome.js';
import type { CellVerdict, ClusterFacts, RunResult } from '../model/verdict.js';
import { createPolicyEngine } from '../policy/engine.js';
import type { Labels } from '../policy/types.js';
import { agentListenArgs, agentRunArgs, runAgentLocally } from '../probe/agent.js';
import { deleteRunPods } from '../probe/cleanup.js';
import {
  BudgetExceededError,
  runProbePods,
  startListeners,
  type ListenerResult,
  type ProbePodSpec,
  type ProbePodState,
} from '../probe/lifecycle.js';
import { buildProbePod, DEFAULT_PROBE_IMAGE, newRunId, probePodName } from '../probe/pod-spec.js';
import type { ExpectedCell, Scenario, Source, Target } from '../scenario/types.js';
import { runInRealPods } from './in-pod.js';
import { judgeResults, withListenerPods, type RunnerOutcome, type StartedListener } from './judge-results.js';
import { DEFAULT_SETTLE_MS, listenerKey, planListeners, planRun, resolveSourceLabels, RUNNER, workloadKey, type ListenerPodPlan } from './plan.js';
import { assessCellPolicy } from './policy-view.js';
import { describeSkippedNodes, selectProbeNodes, type NodeSelection } from './probe-nodes.js';
import {
  describeNamespaceRefusals,
  describeUnavailable,
  describeVisibility,
  findHiddenNamedPorts,
  findMissingNamespaces,
  unavailableCells,
  unavailableFailure,
  withoutUnavailable,
  workloadLookupFailure,
  type Unavailable,
} from './unavailable.js';
import { markNotVisible } from './visibility.js';
import { judgeCell, summarizeCells } from './verdict.js';

/** A progress event for one probe pod, listener, or the runner. */
export interface RunProgress {
  /** Stable id: the pod's "namespace/name", or "runner". */
  id: string;
  /** Human title, e.g. "serving, training (financial-ml) on node-a". */
  title: string;
  role: 'probe' | 'listener' | 'runner';
  state: ProbePodState;
  detail?: string;
}

export interface RunDeps {
  client: ClusterClient;
  /** Per-check timeout (default: the scenario's). */
  timeoutMs?: number;
  /** Whole-run budget: pod deadline (activeDeadlineSeconds) and the wait for results. */
  budgetMs: number;
  retries?: number;
  /** Probe pods wait this long before probing, for the CNI to program policies for them (default DEFAULT_SETTLE_MS). */
  settleMs?: number;
  /** Probe every pod source from each node of the cluster (those `nodeSelection` picks). */
  perNode?: boolean;
  nodeSelection?: NodeSelection;
  image?: string;
  imagePullSecret?: string;
  signal: AbortSignal;
  /** Called once the pods are known (before any is created), then per state change. */
  onPlan?: (items: Array<Omit<RunProgress, 'state' | 'detail'>>) => void;
  onProgress?: (event: RunProgress) => void;
  /** The run's pods could not be deleted (e.g. the API went away): one line for the user; default a process warning. */
  onCleanupFailed?: (message: string) => void;
  /** The run id (default a new one): the CLI makes it first, to print it before any pod exists. */
  runId?: string;
  /** Address the runner's traffic carries when it reaches pods, when known (decides ipBlock rules). */
  runnerAddress?: string;
  /**
   * Sources naming a workload run in one of its Ready pods (an ephemeral container: the pod's own identity), not in
   * a new pod carrying its labels; where that cannot be, the cloned-label pod, and a finding says which ran.
   */
  inPod?: boolean;
  /** With inPod: prefer the workload's pod on this node. */
  inPodNode?: string;
  now?: () => Date;
}

export interface ScenarioRun {
  result: RunResult;
  /** Infrastructure failures (pods that could not run, budget exceeded): they make the exit code 3. */
  failures: NetcheckError[];
  /**
   * What stopped the run before it could judge its cells (the API unreachable or forbidden, a scenario that does
   * not match the cluster): the result then holds every cell as not run, with this reason, so reports are still
   * written; the caller exits with this error's code.
   */
  stoppedBy?: NetcheckError;
}

export { DEFAULT_SETTLE_MS } from './plan.js';

/** An IPv4-mapped IPv6 address in full: the longest text a pod IP can take. */
const LONGEST_IP = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255';

export async function runScenario(scenario: Scenario, deps: RunDeps): Promise<ScenarioRun> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const runId = deps.runId ?? newRunId(startedAt);
  const deadline = startedAt.getTime() + deps.budgetMs;
  const deadlineSeconds = Math.max(1, Math.ceil(deps.budgetMs / 1000));
  const timeoutMs = deps.timeoutMs ?? scenario.defaults.timeoutMs;
  const retries = deps.retries ?? scenario.defaults.retries;
  const failures: NetcheckError[] = [];
  const namespaces = new Set<string>();
  /** The pods this run asked for, so a namespace where listing is refused can still be cleaned by name. */
  const podNames: Array<{ namespace: string; name: string }> = [];
  // Filled in as the run learns them, so a run stopped half-way still reports what it knew.
  const cluster: RunResult['cluster'] = { server: deps.client.server, context: deps.client.context, nodes: [], unknown: [] };

  try {
    // With namespace-scoped rights the inventory reads these one by one (and names what it may not see).
    const scenarioNamespaces = [...scenario.sources.flatMap((s) => (s.kind === 'pod' ? [s.namespace] : [])), ...scenario.targets.flatMap((t) => ('namespace' in t ? [t.namespace] : [])), 'kube-system'];
    const snapshot = await deps.client.inventory({ signal: deps.signal, alsoNamespaces: scenarioNamespaces });
    cluster.nodes = snapshot.nodes.map((n) => n.name).sort();
    cluster.unknown = [...(snapshot.unknown ?? [])];
    const engine = createPolicyEngine(snapshot);
    // A source or listener whose namespace or `as:` workload is missing (or forbidden) fails its own cells only.
    const unavailable = findMissingNamespaces(scenario, snapshot);
    findHiddenNamedPorts(scenario, snapshot.notVisible, unavailable);
    const barePods = new Set<string>();
    const workloadLabels = await readWorkloadLabels(deps.client, scenario, deps.signal, unavailable, snapshot.namespaces.map((n) => n.name), barePods);
    const runnable = withoutUnavailable(scenario, unavailable);

    const nodesHidden = snapshot.notVisible?.find((n) => n.resource === 'nodes')?.why;
    const probeNodes = deps.perNode ? selectProbeNodes(snapshot.nodes, deps.nodeSelection, nodesHidden) : undefined;
    if (probeNodes && probeNodes.nodes.length === 0 && probeNodes.skipped.length > 0) {
      throw new ClusterError(`--per-node: no node can run a probe pod: ${describeSkippedNodes(probeNodes.skipped).join('')}`, { reason: 'NoUsableNode' }, {
        hint: 'probe cordoned nodes with --include-cordoned, uncordon one (kubectl uncordon), or run without --per-node',
      });
    }
    const perNode = probeNodes?.nodes;
    const listenerPlans = planListeners(runnable, perNode);
    const listenerSpecs: ProbePodSpec[] = listenerPlans.map((l, i) => ({
      key: l.key,
      manifest: buildProbePod({
        runId,
        namespace: l.namespace,
        name: probePodName(runId, 'listener', i),
        labels: l.labels,
        deadlineSeconds,
        ...(l.node !== undefined ? { nodeName: l.node } : {}),
        args: agentListenArgs({ listen: l.listen }),
        role: 'listener',
        ports: l.listen,
        ...imageOptions(deps),
      }),
    }));
    // Plan once before the listeners have IPs, to know every probe pod before anything is created. The
    // stand-in IPs are as long as an address can be, so the real plan never splits into more parts than this one.
    const draftIPs = Object.fromEntries(listenerPlans.flatMap((l) => l.targets.map((t) => [listenerKey(t, l.node), LONGEST_IP])));
    // Retries test what the policies say, not the intent: an attempt that disagrees with them (a leak before the CNI
    // has programmed the pod, a dropped packet) is tried again; one that agrees is the answer, even for a known gap.
    const assess = deps.runnerAddress !== undefined ? { runnerAddress: deps.runnerAddress } : {};
    const predict = (cell: ExpectedCell, source: Source, target: Target, node: string | undefined): 'allow' | 'deny' | undefined => {
      const labels = source.kind === 'pod' ? resolveSourceLabels(source, workloadLabels) : {};
      const { view } = assessCellPolicy(engine, snapshot, source, labels, node, target, assess);
      return view === 'unknown' ? undefined : view;
    };
    const planOptions = { workloadLabels, services: snapshot.services, timeoutMs, retries, settleMs: deps.settleMs ?? DEFAULT_SETTLE_MS, predict, ...(perNode ? { perNode } : {}) };
    const draft = planRun(runnable, { ...planOptions, listenerIPs: draftIPs });
    const items: Array<Omit<RunProgress, 'state' | 'detail'>> = [];
    for (const [i, l] of listenerPlans.entries()) {
      const id = `${l.namespace}/${probePodName(runId, 'listener', i)}`;
      items.push({ id, title: `listener ${l.targets.join(', ')} (${l.namespace})${l.node !== undefined ? ` on ${l.node}` : ''}`, role: 'listener' });
    }
    const probePods = draft.pods;
    for (const [i, p] of probePods.entries()) {
      const id = `${p.namespace}/${probePodName(runId, 'probe', i)}`;
      const part = p.part ? ` [part ${p.part.index}/${p.part.count}]` : '';
      const title = `${p.sources.join(', ')} (${p.namespace})${p.node ? ` on ${p.node}` : ''}${part}`;
      items.push({ id, title, role: 'probe' });
    }
    if (draft.runner) items.push({ id: RUNNER, title: `runner (this machine): ${draft.runner.checks.length} check(s)`, role: 'runner' });
    deps.onPlan?.(items);
    const progress = (role: RunProgress['role']) => (spec: ProbePodSpec, state: ProbePodState, detail?: string) => {
      const id = `${spec.manifest.metadata.namespace}/${spec.manifest.metadata.name}`;
      const title = items.find((i) => i.id === id)?.title ?? id;
      deps.onProgress?.({ id, title, role, state, ...(detail !== undefined ? { detail } : {}) });
    };

    for (const l of listenerPlans) namespaces.add(l.namespace);
    for (const l of listenerSpecs) podNames.push({ namespace: l.manifest.metadata.namespace, name: l.manifest.metadata.name });
    const listenerResults = await settleRunFailure(
      listenerSpecs.length === 0 ? Promise.resolve([]) : startListeners(deps.client, listenerSpecs, { signal: deps.signal, deadline, onProgress: progress('listener') }),
      failures,
    );
    const listenerIPs = mapListenerIPs(listenerPlans, listenerResults, failures);

    // A listener target none of whose pods could start (its namespace refused or gone) is unavailable, with that reason.
    for (const [target, why] of failedListenerTargets(listenerPlans, listenerResults)) unavailable.targets.set(target, why);
    const plan = planRun(withoutUnavailable(scenario, unavailable), { ...planOptions, listenerIPs });
    const withChecks = plan.pods.filter((p) => p.plan.checks.length > 0);
    // --in-pod: every workload source; without it, only a source that named a pod (`--from NS/POD`).
    const inPodPlanned = deps.inPod === true ? withChecks : withChecks.filter((p) => p.sources.some((s) => barePods.has(s)));
    const plannedId = (key: string): string => `${plan.pods.find((p) => p.key === key)?.namespace}/${probePodName(runId, 'probe', probePods.findIndex((d) => d.key === key))}`;
    const inPod = inPodPlanned.length > 0
      ? await runInRealPods(deps.client, inPodPlanned, scenario, {
          runId,
          signal: deps.signal,
          deadline,
          ...(deps.image !== undefined ? { image: deps.image } : {}),
          ...(deps.inPodNode !== undefined ? { node: deps.inPodNode } : {}),
          onProgress: (probe, state, detail) => {
            const id = plannedId(probe.key);
            const title = `${items.find((i) => i.id === id)?.title ?? id} in pod ${probe.namespace}/${probe.pod}`;
            deps.onProgress?.({ id, title, role: 'probe', state, ...(detail !== undefined ? { detail } : {}) });
          },
        })
      : undefined;
    const specs: ProbePodSpec[] = withChecks
      .filter((p) => !inPodPlanned.includes(p) || inPod?.fallback.has(p.key) === true)
      .map((p) => ({
        key: p.key,
        manifest: buildProbePod({
          runId,
          namespace: p.namespace,
          name: probePodName(runId, 'probe', probePods.findIndex((d) => d.key === p.key)),
          labels: p.labels,
          ...(p.node !== undefined ? { nodeName: p.node } : {}),
          deadlineSeconds,
          args: agentRunArgs(p.plan),
          role: 'probe',
          ...imageOptions(deps),
        }),
      }));
    for (const s of specs) namespaces.add(s.manifest.metadata.namespace);
    for (const s of specs) podNames.push({ namespace: s.manifest.metadata.namespace, name: s.manifest.metadata.name });

    const runnerPlan = plan.runner;
    const [clonedResults, runnerResults] = await Promise.all([
      // A budget spent waiting for listeners leaves none for probe pods: creating them would only leave pods behind.
      settleRunFailure(specs.length === 0 || failures.some((f) => f instanceof BudgetExceededError) ? Promise.resolve([]) : runProbePods(deps.client, specs, { signal: deps.signal, deadline, onProgress: progress('probe') }), failures),
      runnerPlan ? runRunner(runnerPlan, deps, failures) : Promise.resolve(undefined),
    ]);
    const podResults = [...(inPod?.results ?? []), ...clonedResults];

    const notRunnable = unavailableFailure(unavailable);
    if (notRunnable) failures.push(notRunnable);
    const pendingReason = failures.find((f) => f instanceof BudgetExceededError || f instanceof ClusterError)?.message;
    for (const r of podResults) if (r.kind === 'failed') failures.push(r.error);
    // While the checks ran, the listeners were pods (and endpoints of the Services that select them).
    const running = withListenerPods(snapshot, startedListeners(listenerPlans, listenerResults));
    const judged = judgeResults(
      plan,
      { podResults, runner: runnerResults, ...(pendingReason !== undefined ? { pendingReason } : {}) },
      { snapshot: running, engine, workloadLabels, assess },
    );
    // Per-node runs compare nodes: what fails only from one node is that node's data plane.
    // A policy verdict resting on what these rights could not see is `unknown`, not a guess.
    const attributed = attributeNodeFaults([...markNotVisible(judged, scenario, snapshot, snapshot.notVisible), ...unavailableCells(scenario, unavailable)]);
    const kinds: TargetKinds = Object.fromEntries(scenario.targets.map((t) => [t.name, t.kind]));
    // The inventory puts cells on their real cause (a Service that does not exist, a broken node) before the findings.
    const diagnosis = buildRunContext(scenario, running, {
      scenarioArg: scenarioArgument(scenario),
      perNode: deps.perNode === true,
      image: deps.image ?? DEFAULT_PROBE_IMAGE,
      ...(snapshot.namespacesListed === true ? { namespacesListed: true } : {}),
    });
    const { cells, findings: cellFindings } = diagnoseCells(attributed, kinds, diagnosis);
    // A failed DNS cell sends a short second round of probe pods down the DNS chain; its verdicts replace the generic DNS finding.
    const chained = await walkDnsChainsAfterRun({
      client: deps.client, runId, cells, scenario, workloadLabels, targetKinds: kinds, snapshot, signal: deps.signal, deadline, timeoutMs,
      namespaces, ...(deps.settleMs !== undefined ? { settleMs: deps.settleMs } : {}), ...imageOptionsForChain(deps),
    });
    const diagnosed = withDnsChainFindings(cellFindings, chained.findings);
    // Root cause first: each failing cell names the one finding that explains it, in that finding's words.
    const explained = withCauses(cells, diagnosed);
    const result: RunResult = {
      runId,
      scenario: scenario.name,
      startedAt: startedAt.toISOString(),
      finishedAt: now().toISOString(),
      cluster,
      cells: explained,
      facts: clusterFacts(snapshot),
      summary: summarizeCells(explained),
      findings: [
        ...describeUnavailable(unavailable),
        ...describeNamespaceRefusals(failures),
        ...describeSkippedNodes(probeNodes?.skipped ?? []),
        // Which mode ran each workload source: its own pod, or a clone of its labels (and why).
        ...(inPod?.notes ?? []),
        // About nodes, not cells: the text carries the command to run next.
        ...describeMigrationState(snapshot.nodes).map((f) => `${f.text} (next: ${f.next})`),
        ...diagnosed.map((f) => f.text),
        ...describeVisibility(snapshot, { perNode: deps.perNode === true, ...(perNode !== undefined ? { pinnedTo: perNode } : {}) }),
      ],
      findingCells: diagnosed,
      ...(chained.chains.length > 0 ? { dnsChains: chained.chains } : {}),
    };
    return { result, failures };
  } catch (caught) {
    // A bug is not a finding; an expected failure, or a stop the user asked for (SIGINT/SIGTERM), becomes a report.
    const error = deps.signal.aborted ? stoppedError(deps.signal.reason) : caught;
    if (!(error instanceof NetcheckError)) throw error;
    const result = stoppedRunResult(scenario, error, { runId, startedAt, finishedAt: now(), cluster });
    return { result, failures: [...failures, error], stoppedBy: error };
  } finally {
    // Where RBAC refused part of the work (or the namespace is gone), listing may be refused too: delete by name.
    const refused = new Set(failures.flatMap((f) => {
      const cause = f instanceof ProbeError ? f.cause : undefined;
      return cause instanceof ClusterError && cause.namespace !== undefined && isNamespaceScoped(cause) ? [cause.namespace] : [];
    }));
    await cleanup(deps.client, runId, [...namespaces].filter((ns) => !refused.has(ns)), deps.onCleanupFailed, podNames.filter((p) => refused.has(p.namespace)));
  }
}

/** The facts a snapshot keeps of the cluster the run read (src/model/verdict.ts ClusterFacts). */
function clusterFacts(inventory: Inventory): ClusterFacts {
  return {
    nodes: inventory.nodes.map((n) => ({
      name: n.name,
      labels: n.labels,
      ...(n.ready !== undefined ? { ready: n.ready } : {}),
      ...(n.unschedulable !== undefined ? { unschedulable: n.unschedulable } : {}),
    })),
    ...(inventory.cni !== undefined ? { cni: inventory.cni } : {}),
    namespaces: inventory.namespaces.map((n) => ({ name: n.name, labels: n.labels })),
    // AdminNetworkPolicies and Calico's policies decide flows too: a change to one explains a diff.
    policies: [...inventory.policies.map((p) => ({ ...p, kind: 'NetworkPolicy' })), ...(inventory.adminPolicies ?? []), ...(inventory.otherPolicies ?? [])].map((p) => {
      const namespace = 'namespace' in p ? p.namespace : undefined;
      const kind = 'apiVersion' in p ? `${p.kind} (${p.apiVersion.split('/')[0]})` : p.kind;
      const resourceVersion = inventory.resourceVersions?.[`${p.kind}:${namespace ?? ''}/${p.name}`];
      return { kind, ...(namespace !== undefined ? { namespace } : {}), name: p.name, ...(resourceVersion !== undefined ? { resourceVersion } : {}) };
    }),
  };
}

function imageOptions(deps: RunDeps): { image?: string; imagePullSecrets?: string[] } {
  return {
    ...(deps.image !== undefined ? { image: deps.image } : {}),
    ...(deps.imagePullSecret !== undefined ? { imagePullSecrets: [deps.imagePullSecret] } : {}),
  };
}

function imageOptionsForChain(deps: RunDeps): { image?: string; imagePullSecret?: string } {
  return { ...(deps.image !== undefined ? { image: deps.image } : {}), ...(deps.imagePullSecret !== undefined ? { imagePullSecret: deps.imagePullSecret } : {}) };
}

/** Deleting must run even when the run was aborted, so it gets its own short deadline, not the run's signal. */
async function cleanup(
  client: ClusterClient,
  runId: string,
  namespaces: string[],
  onFailed?: (message: string) => void,
  byName: Array<{ namespace: string; name: string }> = [],
): Promise<void> {
  if (namespaces.length === 0 && byName.length === 0) return;
  const signal = AbortSignal.timeout(15_000);
  // Namespace by namespace: one refused namespace must not leave the pods of the others behind.
  const settled = await Promise.allSettled([
    ...namespaces.map((ns) => deleteRunPods(client, runId, { namespaces: [ns], signal })),
    // A pod whose create RBAC refused does not exist; a refused delete there concerns no pod of ours.
    ...byName.map((p) => client.deletePod(p.namespace, p.name, signal).catch((error: unknown) => {
      if (!isNamespaceScoped(error)) throw error;
    })),
  ]);
  const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) {
    // The pods' activeDeadlineSeconds and `netcheck cleanup` still remove them; do not hide the run's own outcome.
    const message =
      `could not delete the pods of run ${runId} (${errors.map((error) => (error instanceof Error ? error.message : String(error))).join('; ')}); ` +
      'their deadline stops them, then `netcheck cleanup -A` removes them';
    if (onFailed) onFailed(message);
    else process.emitWarning(`netcheck: ${message}`);
  }
}

/**
 * The labels of each `as:` workload. One that is not there (or not readable with these rights) makes its source
 * unavailable, with the reason, rather than stopping the run; other failures (the API gone) still stop it.
 */
/**
 * The `as:` workloads' labels. `NS/NAME` (an ad-hoc `--from`) reads NAME as a Deployment; when there is none but a
 * pod of that name runs, the source is that pod: it goes into `barePods`, and runs in the pod itself.
 */
async function readWorkloadLabels(
  client: ClusterClient,
  scenario: Scenario,
  signal: AbortSignal,
  unavailable: Unavailable,
  knownNamespaces: string[],
  barePods: Set<string>,
): Promise<Record<string, Labels>> {
  const entries = await Promise.all(
    scenario.sources.flatMap((s) => {
      if (s.kind !== 'pod' || !s.as || unavailable.sources.has(s.name)) return [];
      const { as } = s;
      const kind = as.kind.toLowerCase() as WorkloadKind;
      const asBarePod = async (error: unknown): Promise<Labels> => {
        if (!(kind === 'deployment' && error instanceof ClusterError && error.reason === 'NotFound')) throw error;
        const pod = await client.getPod(s.namespace, as.name, signal).catch(() => undefined);
        if (pod === undefined) throw error;
        barePods.add(s.name);
        return client.getWorkloadLabels(s.namespace, 'pod', as.name, signal);
      };
      return [
        client.getWorkloadLabels(s.namespace, kind, as.name, signal).catch(asBarePod).then(
          (labels) => [[workloadKey(s.namespace, as.kind, as.name), labels] as const],
          (error: unknown) => {
            const why = workloadLookupFailure(error, { namespace: s.namespace, as, location: s.location }, knownNamespaces);
            if (why === undefined) throw error;
            unavailable.sources.set(s.name, why);
            return [];
          },
        ),
      ];
    }),
  );
  return Object.fromEntries(entries.flat());
}

/**
 * A budget overrun keeps what did settle; a cluster error mid-run (the API gone, a forbidden pods/log) loses the
 * pods' results but not the rest of the run (the runner's checks, the report). Both are recorded as failures;
 * anything else (a signal, a bug) propagates.
 */
async function settleRunFailure<T>(work: Promise<T[]>, failures: NetcheckError[]): Promise<T[]> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof BudgetExceededError) {
      failures.push(error);
      return error.settled as T[];
    }
    if (error instanceof ClusterError) {
      failures.push(error);
      return [];
    }
    throw error;
  }
}

function stoppedError(reason: unknown): NetcheckError {
  const why = reason instanceof Error ? reason.message : String(reason);
  return new NetcheckError(`stopped (${why}) before the run finished`, ExitCode.Interrupted);
}

/**
 * What a run stopped before probing reports: every cell of the scenario, none of them run, each saying why, so
 * a CI system still finds its report and can tell broken infrastructure from a regression.
 */
export function stoppedRunResult(
  scenario: Scenario,
  error: NetcheckError,
  run: { runId: string; startedAt: Date; finishedAt: Date; cluster: RunResult['cluster'] },
): RunResult {
  const targets = new Map(scenario.targets.map((t) => [t.name, t]));
  const cells: CellVerdict[] = scenario.cells.flatMap((cell) => {
    const target = targets.get(cell.target);
    if (!target) return [];
    return [judgeCell({ cell, target, policy: { view: 'unknown', explanation: [] }, observed: { kind: 'not-run', reason: error.message } })];
  });
  return {
    runId: run.runId,
    scenario: scenario.name,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    cluster: run.cluster,
    cells,
    summary: summarizeCells(cells),
    findings: [`the run stopped before probing: ${error.message}${error.hint ? ` (hint: ${error.hint})` : ''}`],
  };
}

/** Listener targets whose every pod failed for a namespace-scoped reason (RBAC, no such namespace), with it. */
function failedListenerTargets(plans: ListenerPodPlan[], results: ListenerResult[]): Map<string, string> {
  const failed = new Map<string, string>();
  const started = new Set<string>();
  for (const r of results) {
    const targets = plans.find((p) => p.key === r.key)?.targets ?? [];
    if (r.kind === 'ready') targets.forEach((t) => started.add(t));
    else if (r.error.cause instanceof ClusterError && isNamespaceScoped(r.error.cause)) targets.forEach((t) => failed.set(t, r.error.message));
  }
  for (const t of started) failed.delete(t);
  return failed;
}

function startedListeners(plans: ListenerPodPlan[], results: ListenerResult[]): StartedListener[] {
  return results.flatMap((r) => {
    const plan = plans.find((p) => p.key === r.key);
    if (r.kind !== 'ready' || !plan) return [];
    return [{ plan, name: r.name, ip: r.ip, ...(r.node !== undefined ? { node: r.node } : {}) }];
  });
}

function mapListenerIPs(plans: ListenerPodPlan[], results: ListenerResult[], failures: NetcheckError[]): Record<string, string> {
  const ips: Record<string, string> = {};
  for (const r of results) {
    if (r.kind === 'failed') {
      failures.push(r.error);
      continue;
    }
    const plan = plans.find((p) => p.key === r.key);
    for (const t of plan?.targets ?? []) ips[listenerKey(t, plan?.node)] = r.ip;
  }
  return ips;
}

async function runRunner(plan: AgentPlan, deps: RunDeps, failures: NetcheckError[]): Promise<RunnerOutcome> {
  const base = { id: RUNNER, title: `runner (this machine): ${plan.checks.length} check(s)`, role: 'runner' as const };
  deps.onProgress?.({ ...base, state: 'running' });
  try {
    const results = await runAgentLocally(plan, { signal: deps.signal });
    deps.onProgress?.({ ...base, state: 'done' });
    return { results };
  } catch (error) {
    if (deps.signal.aborted) throw error;
    const err = error instanceof NetcheckError ? error : new ProbeError(String(error), { reason: 'agent-failed' });
    failures.push(err);
    deps.onProgress?.({ ...base, state: 'failed', detail: err.message });
    return { error: err.message };
  }
}
