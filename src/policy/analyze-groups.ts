/**
 * What `analyze` shows at scale (pure): pods grouped so that a row stands for many pods, and focus filters.
 * - A group is the pods of one workload (a manifest workload is one pod standing for its replicas), or the
 *   workload-less pods of one namespace that share a pod class (src/policy/classes.ts): either way every member
 *   has the same verdicts, so one row holds for all of them.
 * - `--from` / `--to` pick pods by namespace (`NS`), by name (`NS/POD`, `NS/WORKLOAD` or `NS/KIND/WORKLOAD`), or by
 *   an equality label selector (`app=web,tier!=db`, `key`, `!key`).
 */
import type { DestinationPort, PreparedAnalysis } from './analyze.js';
import type { PodInfo } from './types.js';

export interface PodGroup {
  /** Position in the group list (the id rows refer to). */
  id: number;
  namespace: string;
  /** "deployment/web" when the group is a workload. */
  workload?: string;
  /** Pods the group stands for: a workload's replicas, or its member pods. */
  podCount: number;
  /** Positions (in the prepared analysis's pods) of the members. */
  members: number[];
  /** The destination ports of the group (the same for every member). */
  ports: DestinationPort[];
}

/** Pods the group stands for: a manifest workload counts its replicas. */
function podsStoodFor(pod: PodInfo): number {
  return pod.replicas ?? 1;
}

/** Groups of the given pod positions, in pod order (namespace, then the first member's name). */
export function groupPods(prepared: PreparedAnalysis, positions: readonly number[]): PodGroup[] {
  const byKey = new Map<string, PodGroup>();
  const groups: PodGroup[] = [];
  for (const i of positions) {
    const pod = prepared.pods[i] as PodInfo;
    const key = pod.owner !== undefined ? `${pod.namespace}\u0000w\u0000${pod.owner}\u0000${prepared.classOf[i]}` : `${pod.namespace}\u0000c\u0000${prepared.classOf[i]}`;
    let group = byKey.get(key);
    if (!group) {
      group = { id: groups.length, namespace: pod.namespace, podCount: 0, members: [], ports: prepared.destinationPorts[i] ?? [] };
      if (pod.owner !== undefined) group.workload = pod.owner;
      byKey.set(key, group);
      groups.push(group);
    }
    group.members.push(i);
    group.podCount += podsStoodFor(pod);
  }
  return groups;
}

/** "ns/deployment/web", "ns/pod-1", or "ns/pod-1 (+4 pods of the same class)". */
export function groupName(prepared: PreparedAnalysis, group: PodGroup): string {
  if (group.workload !== undefined) return `${group.namespace}/${group.workload}`;
  const first = prepared.pods[group.members[0] as number] as PodInfo;
  return group.members.length === 1 ? `${group.namespace}/${first.name}` : `${group.namespace}/${first.name} (+${group.members.length - 1} pods of the same class)`;
}

/** Allowed / denied / partial counts of one group pair over the destination's ports (all, none, some allowed). */
export type PairVerdict = 'allowed' | 'denied' | 'partial' | 'no-port';

export function pairVerdict(prepared: PreparedAnalysis, from: PodGroup, to: PodGroup): PairVerdict {
  const s = from.members[0] as number;
  const d = to.members[0] as number;
  let yes = 0;
  let ports = 0;
  for (const dp of to.ports) {
    if (dp.port === null) continue;
    ports++;
    if (prepared.allowed(s, d, dp)) yes++;
  }
  if (ports === 0) return 'no-port';
  return yes === ports ? 'allowed' : yes === 0 ? 'denied' : 'partial';
}

export interface NamespacePairSummary {
  from: string;
  to: string;
  /** Group pairs (workload to workload) by verdict; `pods` counts pod pairs (replicas counted). */
  allowed: number;
  denied: number;
  partial: number;
}

/** Namespace × namespace counts of group pairs allowed on every port, on none, on some. */
export function namespaceSummary(prepared: PreparedAnalysis, fromGroups: readonly PodGroup[], toGroups: readonly PodGroup[]): NamespacePairSummary[] {
  const out = new Map<string, NamespacePairSummary>();
  for (const from of fromGroups) {
    for (const to of toGroups) {
      const v = pairVerdict(prepared, from, to);
      if (v === 'no-port') continue;
      const key = `${from.namespace}\u0000${to.namespace}`;
      let entry = out.get(key);
      if (!entry) out.set(key, (entry = { from: from.namespace, to: to.namespace, allowed: 0, denied: 0, partial: 0 }));
      entry[v]++;
    }
  }
  return [...out.values()];
}

// ---- focus: --from / --to ----

type LabelTest = (labels: PodInfo['labels']) => boolean;

function parseLabelSelector(text: string): LabelTest | string {
  const tests: LabelTest[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = /^([\w./-]+)\s*!=\s*([\w.-]*)$/.exec(term))) {
      const [, k, v] = m as unknown as [string, string, string];
      tests.push((l) => l[k] !== v);
    } else if ((m = /^([\w./-]+)\s*==?\s*([\w.-]*)$/.exec(term))) {
      const [, k, v] = m as unknown as [string, string, string];
      tests.push((l) => l[k] === v);
    } else if ((m = /^!([\w./-]+)$/.exec(term))) {
      const k = (m as unknown as [string, string])[1];
      tests.push((l) => l[k] === undefined);
    } else if ((m = /^([\w./-]+)$/.exec(term))) {
      const k = (m as unknown as [string, string])[1];
      tests.push((l) => l[k] !== undefined);
    } else return `"${term}" is not a label requirement (key=value, key!=value, key, !key)`;
  }
  return (labels) => tests.every((t) => t(labels));
}

/** Whether `spec` is a label selector rather than a namespace or a name. */
function isSelector(spec: string): boolean {
  return /[=!,]/.test(spec);
}

/**
 * The pod test of a --from/--to value, or why it is not one. `NS`, `NS/NAME` (a pod, or a workload by its name),
 * `NS/KIND/NAME` (a workload), or a label selector.
 */
export function parsePodFocus(spec: string): ((pod: PodInfo) => boolean) | string {
  const text = spec.trim();
  if (text === '') return 'empty: give a namespace, NAMESPACE/NAME or a label selector such as app=web';
  if (isSelector(text)) {
    const test = parseLabelSelector(text);
    return typeof test === 'string' ? test : (pod) => test(pod.labels);
  }
  const parts = text.split('/');
  if (parts.length === 1) return (pod) => pod.namespace === text;
  const [namespace, ...rest] = parts as [string, ...string[]];
  const name = rest.join('/');
  if (rest.length === 2) {
    const owner = `${(rest[0] as string).toLowerCase()}/${rest[1] as string}`;
    return (pod) => pod.namespace === namespace && pod.owner === owner;
  }
  if (rest.length === 1) return (pod) => pod.namespace === namespace && (pod.name === name || pod.owner?.split('/')[1] === name);
  return `"${text}" has too many slashes: give NAMESPACE, NAMESPACE/NAME or NAMESPACE/KIND/NAME`;
}
