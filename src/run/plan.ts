/**
 * Expands a scenario into what will run: one probe pod per source identity (namespace + labels + node),
 * each carrying an AgentPlan, the runner-side plan, and one PlannedCheck per (cell × node) whose id maps
 * the agent's result back to its cell. Expectations are attached here, before anything runs.
 * Pure: cluster facts (workload labels, listener IPs, service ports, nodes) are passed in.
 */
import type { AgentCheck, AgentCheckKind, AgentPlan } from '../model/outcome.js';
import { ScenarioError } from '../model/errors.js';
import type { Labels, ServiceInfo } from '../policy/types.js';
import type { ExpectedCell, Scenario, Source, Target } from '../scenario/types.js';

/**
 * A new pod's traffic is not policed until the CNI has programmed it: measured on kube-router, 0.4–0.8 s after
 * the container starts on an idle 2-core node. A leak inside that window would be reported as a data-plane fault.
 * Here, not in run-scenario.ts, so `--help` can name it without loading the cluster code.
 */
export const DEFAULT_SETTLE_MS = 2_000;

export interface PlanOptions {
  /** Labels of the workloads named by `as:`, keyed by workloadKey(namespace, kind, name). */
  workloadLabels: Readonly<Record<string, Labels>>;
  /** Pod IP of the listener serving each `listener` target, keyed by listenerKey(target, node). */
  listenerIPs: Readonly<Record<string, string>>;
  /** Services of the cluster, to resolve named service ports. */
  services: readonly ServiceInfo[];
  /** `--per-node`: probe every pod source from each of these nodes (sources pinned to a node stay pinned). */
  perNode?: readonly string[];
  timeoutMs: number;
  retries: number;
  /** Probe pods wait this long before their first attempt (AgentPlan.settleMs). */
  settleMs?: number;
  /**
   * What the policies say of a cell (undefined: they cannot decide). The agent retries an attempt that disagrees
   * with it, so a flow that leaks before the CNI has programmed the new probe pod is tried again.
   */
  predict?: (cell: ExpectedCell, source: Source, target: Target, node: string | undefined) => 'allow' | 'deny' | undefined;
  /** Largest serialized AgentPlan one probe pod may carry (default MAX_PLAN_BYTES). */
  maxPlanBytes?: number;
}

export interface ProbePodPlan {
  /** Stable identity: namespace, sorted labels, node. */
  key: string;
  /** Scenario sources this pod stands for (several sources with one identity share a pod). */
  sources: string[];
  namespace: string;
  labels: Labels;
  node?: string;
  plan: AgentPlan;
  /** Set when one identity's checks were split across several pods (see MAX_PLAN_BYTES); index from 1. */
  part?: { index: number; count: number };
}

export interface PlannedCheck {
  /** Agent check id; unique in the run. */
  id: string;
  cell: ExpectedCell;
  source: Source;
  target: Target;
  /** Node the probe is pinned to (per-node runs, node-pinned sources). */
  node?: string;
  /** Node the listener target's pod is pinned to (per-node runs, node-pinned listeners). */
  targetNode?: string;
  /** Key of the probe pod that runs it, or 'runner'. */
  runsOn: string;
  /** Absent when the check cannot be planned; `skipped` says why. */
  check?: AgentCheck;
  skipped?: string;
}

export interface RunPlan {
  pods: ProbePodPlan[];
  runner: AgentPlan | undefined;
  checks: PlannedCheck[];
}

/** A listener pod serving one or more `listener` targets that share namespace + labels (+ node). */
export interface ListenerPodPlan {
  key: string;
  namespace: string;
  labels: Labels;
  /** Pinned here (nodeName): a per-node run has one listener per node, so every node pair is tested. */
  node?: string;
  targets: string[];
  /** `name`: the containerPort's name (a listener target's `port: {name, number}`), so named-port policies resolve. */
  listen: Array<{ port: number; protocol: 'TCP' | 'UDP'; name?: string }>;
}

export const RUNNER = 'runner';

/**
 * The plan travels as one container arg, and Linux caps a single argv string at 128 KiB (MAX_ARG_STRLEN):
 * a larger plan (`--per-node` × hundreds of targets) would stop the pod from starting. The agent source
 * is an arg of its own; the margin keeps the pod object itself small.
 */
export const MAX_PLAN_BYTES = 96 * 1024;

export function workloadKey(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind.toLowerCase()}/${name}`;
}

/** Labels a pod source's probe carries: the cloned workload's labels, then the scenario's on top. */
export function resolveSourceLabels(source: Extract<Source, { kind: 'pod' }>, workloadLabels: Readonly<Record<string, Labels>>): Labels {
  if (!source.as) return { ...source.labels };
  const key = workloadKey(source.namespace, source.as.kind, source.as.name);
  const cloned = workloadLabels[key];
  if (cloned === undefined) {
    throw new ScenarioError(
      source.location,
      `source ${source.name}: ${source.as.kind}/${source.as.name} not found in namespace ${source.namespace}`,
      { hint: 'check the `as:` workload name, or give the labels directly' },
    );
  }
  return { ...cloned, ...source.labels };
}

function identityKey(namespace: string, labels: Labels, node: string | undefined): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
  return `${namespace}|${sorted}|${node ?? ''}`;
}

/**
 * Where a listener target's pods run: on its own `node:`; else, in a `--per-node` run, on every probe node (traffic
 * between a migrated and an unmigrated node is what a half-done CNI migration breaks); else wherever scheduled.
 */
export function listenerNodes(target: Extract<Target, { kind: 'listener' }>, perNode: readonly string[] | undefined): Array<string | undefined> {
  if (target.node !== undefined) return [target.node];
  return perNode?.length ? [...perNode] : [undefined];
}

/** The key of one listener target's pod on one node (or unpinned) in PlanOptions.listenerIPs. */
export function listenerKey(target: string, node: string | undefined): string {
  return node === undefined ? target : `${target}@${node}`;
}

/** Listener targets grouped into pods by namespace + labels + node (one pod may listen on several ports). */
export function planListeners(scenario: Scenario, perNode?: readonly string[]): ListenerPodPlan[] {
  const byKey = new Map<string, ListenerPodPlan>();
  for (const target of scenario.targets) {
    if (target.kind !== 'listener') continue;
    if (target.protocol === 'SCTP') {
      throw new ScenarioError(target.location, `target ${target.name}: SCTP listeners are not supported`);
    }
    for (const node of listenerNodes(target, perNode)) {
      const key = identityKey(target.namespace, target.labels, node);
      let pod = byKey.get(key);
      if (!pod) {
        pod = { key, namespace: target.namespace, labels: { ...target.labels }, ...(node !== undefined ? { node } : {}), targets: [], listen: [] };
        byKey.set(key, pod);
      }
      pod.targets.push(target.name);
      const same = pod.listen.find((l) => l.port === target.port && l.protocol === target.protocol);
      if (same && target.portName !== undefined && same.name !== undefined && same.name !== target.portName) {
        throw new ScenarioError(target.location, `target ${target.name}: port ${target.port} is named "${same.name}" by another listener target in the same pod; one port has one name`);
      }
      if (same && target.portName !== undefined) same.name = target.portName;
      else if (!same) pod.listen.push({ port: target.port, protocol: target.protocol, ...(target.portName !== undefined ? { name: target.portName } : {}) });
      const clash = pod.listen.find((l) => l.name !== undefined && l.name === target.portName && (l.port !== target.port || l.protocol !== target.protocol));
      if (clash) {
        throw new ScenarioError(target.location, `target ${target.name}: port name "${target.portName}" is already port ${clash.port} of another listener target in the same pod; use another name`);
      }
    }
  }
  return [...byKey.values()];
}

export function planRun(scenario: Scenario, options: PlanOptions): RunPlan {
  const sources = new Map(scenario.sources.map((s) => [s.name, s]));
  const targets = new Map(scenario.targets.map((t) => [t.name, t]));
  const labelsBySource = new Map<string, Labels>();
  for (const source of scenario.sources) {
    if (source.kind === 'pod') labelsBySource.set(source.name, resolveSourceLabels(source, options.workloadLabels));
  }

  const pods = new Map<string, ProbePodPlan>();
  const runnerChecks: AgentCheck[] = [];
  const checks: PlannedCheck[] = [];

  scenario.cells.forEach((cell, index) => {
    const source = sources.get(cell.source);
    const target = targets.get(cell.target);
    if (!source) throw new ScenarioError(cell.location, `cell names unknown source ${cell.source}`);
    if (!target) throw new ScenarioError(cell.location, `cell names unknown target ${cell.target}`);

    if (source.kind === 'runner') {
      const planned = planCheck(`${index}`, cell, source, target, undefined, RUNNER, options);
      if (planned.check) runnerChecks.push(planned.check);
      checks.push(planned);
      return;
    }
    const labels = labelsBySource.get(source.name) ?? {};
    const nodes: Array<string | undefined> = source.node ? [source.node] : options.perNode?.length ? [...options.perNode] : [undefined];
    for (const node of nodes) {
      const key = identityKey(source.namespace, labels, node);
      let pod = pods.get(key);
      if (!pod) {
        pod = { key, sources: [], namespace: source.namespace, labels, plan: { checks: [], retries: options.retries, ...(options.settleMs ? { settleMs: options.settleMs } : {}) } };
        if (node !== undefined) pod.node = node;
        pods.set(key, pod);
      }
      if (!pod.sources.includes(source.name)) pod.sources.push(source.name);
      const id = nodes.length > 1 || options.perNode?.length ? `${index}@${node ?? ''}` : `${index}`;
      const targetNodes = target.kind === 'listener' ? listenerNodes(target, options.perNode) : [undefined];
      for (const targetNode of targetNodes) {
        const planned = planCheck(targetNode === undefined ? id : `${id}>${targetNode}`, cell, source, target, node, key, options, targetNode);
        if (planned.check) pod.plan.checks.push(planned.check);
        checks.push(planned);
      }
    }
  });

  return {
    pods: splitOversizedPods([...pods.values()], checks, options.maxPlanBytes ?? MAX_PLAN_BYTES),
    runner: runnerChecks.length > 0 ? { checks: runnerChecks, retries: options.retries } : undefined,
    checks,
  };
}

/**
 * Splits every pod whose plan would serialize larger than `maxBytes` into parts with the same identity,
 * in check order, and points each planned check at the part that carries it. The first part keeps the
 * identity's key, so an unsplit plan is unchanged. A single check larger than the bound gets a part of its own.
 */
function splitOversizedPods(pods: ProbePodPlan[], checks: PlannedCheck[], maxBytes: number): ProbePodPlan[] {
  const sourceOf = new Map(checks.map((c) => [c.id, c.cell.source]));
  const partOf = new Map<string, string>();
  const split: ProbePodPlan[] = [];
  for (const pod of pods) {
    const groups = groupChecksBySize(pod.plan, maxBytes);
    if (groups.length <= 1) {
      split.push(pod);
      continue;
    }
    groups.forEach((group, i) => {
      const key = i === 0 ? pod.key : `${pod.key}#${i + 1}`;
      const sources = new Set(group.map((c) => sourceOf.get(c.id)));
      split.push({
        ...pod,
        key,
        sources: pod.sources.filter((s) => sources.has(s)),
        plan: { ...pod.plan, checks: group },
        part: { index: i + 1, count: groups.length },
      });
      for (const check of group) partOf.set(check.id, key);
    });
  }
  for (const planned of checks) {
    const key = partOf.get(planned.id);
    if (key !== undefined) planned.runsOn = key;
  }
  return split;
}

/** Consecutive runs of the plan's checks, each of which serializes (with the plan's envelope) within `maxBytes`. */
function groupChecksBySize(plan: AgentPlan, maxBytes: number): AgentCheck[][] {
  const envelope = serializedBytes({ checks: [], retries: plan.retries });
  const groups: AgentCheck[][] = [];
  let current: AgentCheck[] = [];
  let size = envelope;
  for (const check of plan.checks) {
    // +1 for the comma between array elements.
    const bytes = serializedBytes(check) + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      groups.push(current);
      current = [];
      size = envelope;
    }
    current.push(check);
    size += bytes;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  return groups;
}

const utf8 = new TextEncoder();

function serializedBytes(value: unknown): number {
  return utf8.encode(JSON.stringify(value)).length;
}

function planCheck(
  id: string,
  cell: ExpectedCell,
  source: Source,
  target: Target,
  node: string | undefined,
  runsOn: string,
  options: PlanOptions,
  targetNode?: string,
): PlannedCheck {
  const planned: PlannedCheck = { id, cell, source, target, runsOn };
  if (node !== undefined) planned.node = node;
  if (targetNode !== undefined) planned.targetNode = targetNode;
  const base = { id, timeoutMs: options.timeoutMs, expect: options.predict?.(cell, source, target, node) ?? cell.expect };
  switch (target.kind) {
    case 'dns':
      planned.check = { ...base, kind: 'dns', target: target.host, protocol: target.protocol };
      return planned;
    case 'service': {
      const port = resolveServicePort(target, options.services);
      if (typeof port === 'string') return { ...planned, skipped: port };
      const kind = transportKind(target.protocol, target.http !== undefined);
      if (!kind) return { ...planned, skipped: `${target.protocol} checks are not supported` };
      const service = options.services.find((s) => s.namespace === target.namespace && s.name === target.service);
      if (target.via === 'clusterIP') {
        // No DNS: the Service's own address, as the inventory read it.
        if (!service) return { ...planned, skipped: `target ${target.name}: via clusterIP, but service ${target.namespace}/${target.service} does not exist` };
        if (service.clusterIP === undefined) {
          return { ...planned, skipped: `target ${target.name}: via clusterIP, but service ${target.namespace}/${target.service} is headless (clusterIP: None): it has no ClusterIP to probe; remove \`via: clusterIP\`` };
        }
        planned.check = { ...base, kind, target: service.clusterIP, port };
      } else {
        // By name, as applications do: the agent applies the pod's search list, so "<svc>.<ns>" resolves in-cluster.
        // When the name does not resolve, the agent tries the ClusterIP once: the cell still learns whether the path is open.
        planned.check = { ...base, kind, target: `${target.service}.${target.namespace}`, port, ...(service?.clusterIP !== undefined ? { fallback: service.clusterIP } : {}) };
      }
      if (target.http && kind === 'http') planned.check.http = { ...target.http };
      return planned;
    }
    case 'listener': {
      const ip = options.listenerIPs[listenerKey(target.name, targetNode)];
      if (ip === undefined) return { ...planned, skipped: `listener for ${target.name}${targetNode !== undefined ? ` on ${targetNode}` : ''} has no IP (it did not start)` };
      const kind = transportKind(target.protocol, false);
      if (!kind) return { ...planned, skipped: `${target.protocol} checks are not supported` };
      planned.check = { ...base, kind, target: ip, port: target.port };
      return planned;
    }
    case 'address': {
      const kind = transportKind(target.protocol, target.http !== undefined);
      if (!kind) return { ...planned, skipped: `${target.protocol} checks are not supported` };
      planned.check = { ...base, kind, target: target.address, port: target.port };
      if (target.http && kind === 'http') planned.check.http = { ...target.http };
      return planned;
    }
  }
}

function transportKind(protocol: string, http: boolean): AgentCheckKind | undefined {
  if (protocol === 'UDP') return 'udp';
  if (protocol === 'TCP') return http ? 'http' : 'tcp';
  return undefined;
}

/** The service port number, or a sentence saying why it cannot be resolved. */
function resolveServicePort(target: Extract<Target, { kind: 'service' }>, services: readonly ServiceInfo[]): number | string {
  if (typeof target.port === 'number') return target.port;
  const service = services.find((s) => s.namespace === target.namespace && s.name === target.service);
  if (!service) return `service ${target.namespace}/${target.service} not found, so port "${target.port}" cannot be resolved`;
  const port = service.ports.find((p) => p.name === target.port);
  if (!port) return `service ${target.namespace}/${target.service} has no port named "${target.port}"`;
  return port.port;
}
