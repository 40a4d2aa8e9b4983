/**
 * Walking the DNS chain on a cluster: read the DNS namespace from the API (client.readDnsFacts), run one short probe
 * pod per source (its resolv.conf; the canary name and the failing names through its nameserver over UDP and TCP;
 * the canary straight to each CoreDNS pod), and hand the evidence to the pure chain (src/diagnose/dns-chain.ts).
 * Used by `netcheck dns` and by `netcheck run` after its verdicts when a DNS cell failed. The pods carry the
 * caller's run id: the caller deletes them with the run's (deleteRunPods in its `finally`).
 */
import type { ClusterClient, Inventory } from '../cluster/types.js';
import { CANARY_NAME, COREDNS_LABELS, dnsChainFindings, isNotVisible, walkDnsChain, type DnsChain, type DnsQuery } from '../diagnose/dns-chain.js';
import { cellRef } from '../diagnose/finding.js';
import type { DnsClusterFacts, DnsPodFact } from '../model/dns-chain.js';
import { NetcheckError } from '../model/errors.js';
import type { AgentCheck, AgentCheckResult, AgentPlan } from '../model/outcome.js';
import { matchesSelector } from '../policy/selectors.js';
import type { Labels } from '../policy/types.js';
import { agentRunArgs } from '../probe/agent.js';
import { runProbePods, BudgetExceededError, type ProbePodResult, type ProbePodSpec } from '../probe/lifecycle.js';
import { buildProbePod } from '../probe/pod-spec.js';
import type { CellVerdict, RunFinding } from '../model/verdict.js';
import type { Scenario } from '../scenario/types.js';
import { DEFAULT_SETTLE_MS, resolveSourceLabels } from './plan.js';

export interface DnsChainRequest {
  namespace: string;
  /** Labels the probe pod carries (the source's): what the policies select. */
  labels: Labels;
  /** Pin the probe pod to this node. */
  node?: string;
  /** The scenario sources it stands for (for reports). */
  description?: string;
  /** Names the source failed to resolve, asked too (through its nameserver, with its search list). */
  names?: string[];
}

export interface DnsChainOptions {
  runId: string;
  signal: AbortSignal;
  /** Absolute time (epoch ms) by which the probe pods must have finished. */
  deadline: number;
  /** Per lookup (default 2 s). */
  timeoutMs?: number;
  settleMs?: number;
  image?: string;
  imagePullSecret?: string;
  /** The inventory already read (a run's); read here when absent. */
  snapshot?: Inventory;
  /** The DNS namespace (default kube-system). */
  dnsNamespace?: string;
  /** Called with each probe pod's namespace before it is created, so the caller can clean up. */
  onNamespace?: (namespace: string) => void;
  /** The probe pods that could not run (their chains are undecided), for the caller's failures. */
  onFailure?: (error: NetcheckError) => void;
}

interface QueryMeta {
  name: string;
  protocol: 'UDP' | 'TCP';
  via: DnsQuery['via'];
  server?: string;
  pod?: DnsPodFact;
}

/** The CoreDNS pods worth asking directly: ready ones the kube-dns selector (or the well-known label) matches. */
export function corednsTargets(facts: DnsClusterFacts): DnsPodFact[] {
  if (isNotVisible(facts.pods)) return [];
  const services = isNotVisible(facts.services) ? [] : facts.services;
  const selector = services.find((s) => s.name === 'kube-dns')?.selector ?? COREDNS_LABELS;
  const byService = facts.pods.filter((p) => matchesSelector({ matchLabels: selector }, p.labels));
  const pods = byService.length > 0 ? byService : facts.pods.filter((p) => matchesSelector({ matchLabels: COREDNS_LABELS }, p.labels));
  return pods.filter((p) => p.ready && p.ip !== undefined).sort((a, b) => a.name.localeCompare(b.name));
}

/** The probe plan of one chain, and what each check id stands for. */
export function planDnsChain(request: DnsChainRequest, targets: DnsPodFact[], timeoutMs: number, settleMs: number): { plan: AgentPlan; meta: Map<string, QueryMeta> } {
  const checks: AgentCheck[] = [{ id: 'resolv', kind: 'resolv', target: '/etc/resolv.conf', timeoutMs }];
  const meta = new Map<string, QueryMeta>();
  const add = (id: string, m: QueryMeta, target: string): void => {
    meta.set(id, m);
    checks.push({ id, kind: 'dns', target, protocol: m.protocol, timeoutMs, ...(m.server !== undefined ? { server: m.server } : {}) });
  };
  for (const protocol of ['UDP', 'TCP'] as const) {
    // Absolute: one query, not ndots' walk through the search list first.
    add(`own-${protocol}`, { name: CANARY_NAME, protocol, via: 'resolv' }, `${CANARY_NAME}.`);
    for (const [i, pod] of targets.entries()) add(`pod${i}-${protocol}`, { name: CANARY_NAME, protocol, via: 'pod', server: pod.ip!, pod }, `${CANARY_NAME}.`);
  }
  for (const [i, name] of [...new Set(request.names ?? [])].filter((n) => n !== CANARY_NAME).entries()) {
    add(`name${i}-UDP`, { name, protocol: 'UDP', via: 'resolv' }, name);
  }
  return { plan: { checks, retries: 0, settleMs }, meta };
}

/** The chain from one probe pod's results (pure). */
export function chainFromResults(
  request: DnsChainRequest,
  result: ProbePodResult | undefined,
  meta: Map<string, QueryMeta>,
  facts: DnsClusterFacts,
  snapshot: Inventory,
): DnsChain {
  const results: AgentCheckResult[] = result?.kind === 'done' ? result.results : [];
  const resolvResult = results.find((r) => r.id === 'resolv');
  const nameserver = resolvResult?.resolv?.nameservers[0];
  const queries: DnsQuery[] = [];
  for (const r of results) {
    const m = meta.get(r.id);
    if (!m) continue;
    queries.push({
      name: m.name,
      protocol: m.protocol,
      server: m.server ?? nameserver ?? 'the pod\u2019s nameserver',
      via: m.via,
      ...(m.pod ? { pod: `${m.pod.namespace}/${m.pod.name}`, ...(m.pod.node ? { podNode: m.pod.node } : {}) } : {}),
      outcome: r.outcome,
    });
  }
  const resolv =
    resolvResult?.resolv && resolvResult.outcome.kind !== 'error'
      ? resolvResult.resolv
      : resolvResult?.outcome.kind === 'error'
        ? resolvResult.outcome.message
        : undefined;
  const node = result?.node ?? request.node;
  const probe = result ? `${result.namespace}/${result.name}` : undefined;
  const chain = walkDnsChain({
    source: {
      namespace: request.namespace,
      labels: request.labels,
      ...(node !== undefined ? { node } : {}),
      ...(probe !== undefined ? { probe } : {}),
      ...(request.description !== undefined ? { description: request.description } : {}),
    },
    resolv,
    queries,
    facts,
    snapshot,
    ...(request.names ? { names: request.names } : {}),
  });
  if (result?.kind === 'failed' && chain.verdict.status === 'undecided') {
    // The reason only: the run's own findings already quote the full error (an image pull's registry text) once.
    chain.verdict = { ...chain.verdict, text: `the chain's probe pod ${result.namespace}/${result.name} could not run (${result.error.reason})` };
  }
  return chain;
}

export async function runDnsChains(client: ClusterClient, requests: DnsChainRequest[], options: DnsChainOptions): Promise<DnsChain[]> {
  if (requests.length === 0) return [];
  const dnsNamespace = options.dnsNamespace ?? 'kube-system';
  const [facts, snapshot] = await Promise.all([
    client.readDnsFacts(dnsNamespace, options.signal),
    options.snapshot ?? client.inventory({ signal: options.signal }),
  ]);
  const targets = corednsTargets(facts);
  const timeoutMs = options.timeoutMs ?? 2_000;
  const deadlineSeconds = Math.max(1, Math.ceil((options.deadline - Date.now()) / 1000));
  const planned = requests.map((request, i) => {
    const { plan, meta } = planDnsChain(request, targets, timeoutMs, options.settleMs ?? DEFAULT_SETTLE_MS);
    const spec: ProbePodSpec = {
      key: `dns${i}`,
      manifest: buildProbePod({
        runId: options.runId,
        namespace: request.namespace,
        name: `netcheck-${options.runId}-dns${i}`.slice(0, 63),
        labels: request.labels,
        ...(request.node !== undefined ? { nodeName: request.node } : {}),
        deadlineSeconds,
        args: agentRunArgs(plan),
        role: 'probe',
        ...(options.image !== undefined ? { image: options.image } : {}),
        ...(options.imagePullSecret !== undefined ? { imagePullSecrets: [options.imagePullSecret] } : {}),
      }),
    };
    return { request, meta, spec };
  });
  for (const p of planned) options.onNamespace?.(p.request.namespace);
  let results: ProbePodResult[];
  try {
    results = await runProbePods(client, planned.map((p) => p.spec), { signal: options.signal, deadline: options.deadline });
  } catch (error) {
    if (!(error instanceof BudgetExceededError)) throw error;
    options.onFailure?.(error);
    results = error.settled as ProbePodResult[];
  }
  for (const r of results) if (r.kind === 'failed') options.onFailure?.(r.error);
  return planned.map((p) => chainFromResults(p.request, results.find((r) => r.key === p.spec.key), p.meta, facts, snapshot));
}

/** At most this many chain probe pods after a run: one per (namespace, labels, node) of a failed DNS cell. */
export const MAX_DNS_CHAINS = 6;

/**
 * Which sources a run may walk the chain for (pure; the run walks the first MAX_DNS_CHAINS): every pod source with a
 * failed DNS cell — a name that did not
 * resolve, or a `dns` target expected to resolve that failed — grouped by namespace, labels and the node its probe
 * ran on; each with the names it failed on. The runner resolves on this machine: no chain for it.
 */
export function dnsChainRequests(
  cells: readonly CellVerdict[],
  scenario: Scenario,
  workloadLabels: Readonly<Record<string, Labels>>,
  targetKinds: Readonly<Record<string, string>>,
): Array<{ request: DnsChainRequest; cells: CellVerdict[] }> {
  const groups = new Map<string, { request: DnsChainRequest; cells: CellVerdict[]; sources: Set<string> }>();
  for (const c of cells) {
    if (c.pass || c.classification === 'probe') continue;
    if (!(c.classification === 'dns' || (targetKinds[c.target] === 'dns' && c.expect === 'allow'))) continue;
    const source = scenario.sources.find((s) => s.name === c.source);
    if (source?.kind !== 'pod') continue;
    let labels: Labels;
    try {
      labels = resolveSourceLabels(source, workloadLabels);
    } catch {
      continue; // its workload was not found: the cell says so already
    }
    const node = c.node ?? c.pinnedNode;
    const key = JSON.stringify([source.namespace, Object.entries(labels).sort(), node ?? '']);
    const group = groups.get(key) ?? { request: { namespace: source.namespace, labels, ...(node !== undefined ? { node } : {}), names: [] }, cells: [], sources: new Set<string>() };
    group.cells.push(c);
    group.sources.add(source.name);
    const target = scenario.targets.find((t) => t.name === c.target);
    const name = target?.kind === 'dns' ? target.host : target?.kind === 'service' ? `${target.service}.${target.namespace}` : undefined;
    if (name !== undefined && !group.request.names!.includes(name)) group.request.names!.push(name);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ request, cells: affected, sources }) => ({
    request: { ...request, description: [...sources].sort().join(', '), names: request.names!.slice(0, 4) },
    cells: affected,
  }));
}

export interface AfterRunInput {
  client: ClusterClient;
  runId: string;
  cells: readonly CellVerdict[];
  scenario: Scenario;
  workloadLabels: Readonly<Record<string, Labels>>;
  targetKinds: Readonly<Record<string, string>>;
  snapshot: Inventory;
  signal: AbortSignal;
  /** The run's deadline; the chain gets at least CHAIN_MIN_MS beyond now even when the run spent its budget. */
  deadline: number;
  timeoutMs: number;
  settleMs?: number;
  image?: string;
  imagePullSecret?: string;
  /** Namespaces the run deletes its pods from: the chain's are added. */
  namespaces: Set<string>;
}

const CHAIN_MIN_MS = 30_000;

/**
 * After a run's verdicts: walk the chain for each source whose DNS cells failed. Returns the chains and one
 * finding per distinct verdict (kind 'dns-chain'); a chain that cannot be walked (the API failed) becomes one
 * finding saying so, never a failed run. A stop the user asked for (the signal) still propagates.
 */
export async function walkDnsChainsAfterRun(input: AfterRunInput): Promise<{ chains: DnsChain[]; findings: RunFinding[] }> {
  const all = dnsChainRequests(input.cells, input.scenario, input.workloadLabels, input.targetKinds);
  const wanted = all.slice(0, MAX_DNS_CHAINS);
  const unwalked = all.slice(MAX_DNS_CHAINS).flatMap((w) => w.cells);
  if (wanted.length === 0) return { chains: [], findings: [] };
  try {
    const chains = await runDnsChains(
      input.client,
      wanted.map((w) => w.request),
      {
        runId: input.runId,
        signal: input.signal,
        deadline: Math.max(input.deadline, Date.now() + CHAIN_MIN_MS),
        timeoutMs: Math.min(input.timeoutMs, 5_000),
        snapshot: input.snapshot,
        ...(input.settleMs !== undefined ? { settleMs: input.settleMs } : {}),
        ...(input.image !== undefined ? { image: input.image } : {}),
        ...(input.imagePullSecret !== undefined ? { imagePullSecret: input.imagePullSecret } : {}),
        onNamespace: (ns) => input.namespaces.add(ns),
      },
    );
    const walked = chains.map((chain, i) => ({ chain, cells: wanted[i]!.cells }));
    return { chains, findings: dnsChainFindings(walked, unwalked) };
  } catch (error) {
    if (input.signal.aborted || !(error instanceof NetcheckError)) throw error;
    const cells = wanted.flatMap((w) => w.cells);
    return {
      chains: [],
      findings: [{ kind: 'dns-chain', text: `the DNS chain could not be walked: ${error.message}`, cells: cells.map(cellRef) }],
    };
  }
}
