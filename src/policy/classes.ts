/**
 * Pod equivalence classes: pods that no policy can tell apart get the same verdict against every other pod, in
 * both directions, on every port. The matrix is then computed over one representative pod per class (the
 * engine's own computeMatrix on a snapshot of the representatives) and expanded on output.
 *
 * Why a representative snapshot gives the same cells: every input the engine reads about a pod is per pod — its
 * namespace (and so that namespace's labels), its labels (through pod selectors), its address (through ipBlock
 * and `networks` CIDRs), its declared ports (named ports, port matching) — and no verdict depends on which
 * other pods exist. Two pods with equal keys below are therefore interchangeable in every cell.
 *
 * The key is deliberately conservative ("when in doubt a pod gets its own class"):
 * - the namespace, whole (so namespace labels and "the policy's own namespace" are covered);
 * - the pod's labels restricted to the keys some selector reads: NetworkPolicy podSelectors and peers,
 *   AdminNetworkPolicy / BaselineAdminNetworkPolicy / ClusterNetworkPolicy subjects and `pods` peers; all labels
 *   as soon as the snapshot holds Calico policies, whose selectors are free text;
 * - the declared container ports, whole;
 * - the address cell: in or out of every ipBlock CIDR and except and every admin `networks` CIDR (the exact
 *   address with Calico policies, whose nets/notNets it does not collect, or anything this file cannot read);
 * - the node name when admin policies (a ClusterNetworkPolicy's `nodes` peers) or Calico policies exist;
 * - the ServiceAccount with Calico policies (serviceAccountSelector, serviceAccounts).
 * A snapshot field this file does not know (a policy kind added later) makes the key take every pod input:
 * correct before fast. Adding a policy kind means adding what it reads to `readsOf` below.
 */
import { cidrContains, parseAddress, parseCidr, type ParsedCidr } from './cidr.js';
import { declaredPortsKey, numberByKey } from './class-ids.js';
import { createPolicyEngine, type FlowMatrix, type PolicyEngine } from './engine.js';
import type { PortQuery } from './ports.js';
import type { ClusterSnapshot, LabelSelector, PodInfo, Protocol } from './types.js';

/** The snapshot fields whose pod-reading inputs `readsOf` knows; any other non-empty field means "read everything". */
const KNOWN_FIELDS = new Set(['namespaces', 'pods', 'services', 'policies', 'nodes', 'adminPolicies', 'otherPolicies', 'unknown']);

interface Reads {
  /** Label keys some selector reads; undefined: all labels. */
  labelKeys: Set<string> | undefined;
  /** CIDRs whose containment splits the address space; undefined: the exact address. */
  cidrs: ParsedCidr[] | undefined;
  node: boolean;
  /** Calico's serviceAccountSelector / serviceAccounts read the pod's ServiceAccount. */
  serviceAccount: boolean;
}

function addSelectorKeys(keys: Set<string>, selector: LabelSelector | undefined): void {
  for (const k of Object.keys(selector?.matchLabels ?? {})) keys.add(k);
  for (const e of selector?.matchExpressions ?? []) keys.add(e.key);
}

function readsOf(snapshot: ClusterSnapshot): Reads {
  const unknownInput = Object.entries(snapshot).some(
    ([field, value]) => !KNOWN_FIELDS.has(field) && value !== undefined && !(Array.isArray(value) && value.length === 0),
  );
  if (unknownInput) return { labelKeys: undefined, cidrs: undefined, node: true, serviceAccount: true };
  const keys = new Set<string>();
  const cidrTexts = new Set<string>();
  for (const policy of snapshot.policies) {
    addSelectorKeys(keys, policy.podSelector);
    const peers = [...(policy.ingress ?? []).flatMap((r) => r.from ?? []), ...(policy.egress ?? []).flatMap((r) => r.to ?? [])];
    for (const peer of peers) {
      addSelectorKeys(keys, peer.podSelector);
      if (peer.ipBlock) for (const c of [peer.ipBlock.cidr, ...(peer.ipBlock.except ?? [])]) cidrTexts.add(c);
    }
  }
  const admin = snapshot.adminPolicies ?? [];
  for (const policy of admin) {
    addSelectorKeys(keys, policy.subject.pods?.podSelector);
    for (const rule of [...policy.ingress, ...policy.egress]) {
      for (const peer of rule.peers) {
        addSelectorKeys(keys, peer.pods?.podSelector);
        for (const c of peer.networks ?? []) cidrTexts.add(c);
      }
    }
  }
  const cidrs = [...cidrTexts].map(parseCidr).filter((c): c is ParsedCidr => c !== undefined);
  const otherPolicies = (snapshot.otherPolicies ?? []).length > 0;
  // Calico's rules read any label, the ServiceAccount and nets/notNets: every label, the exact address and the
  // ServiceAccount go into the key then (conservative: correctness first).
  return { labelKeys: otherPolicies ? undefined : keys, cidrs: otherPolicies ? undefined : cidrs, node: admin.length > 0 || otherPolicies, serviceAccount: otherPolicies };
}

function classKey(pod: PodInfo, reads: Reads): string {
  const labels = Object.keys(pod.labels)
    .filter((k) => reads.labelKeys === undefined || reads.labelKeys.has(k))
    .sort()
    .map((k) => `${k}=${pod.labels[k]}`);
  const ports = declaredPortsKey(pod);
  let address = '';
  if (reads.cidrs === undefined) address = pod.ip ?? '';
  else if (reads.cidrs.length > 0) {
    const parsed = pod.ip ? parseAddress(pod.ip) : undefined;
    address = parsed ? reads.cidrs.map((c) => (cidrContains(c, parsed) ? '1' : '0')).join('') : 'none';
  }
  return JSON.stringify([pod.namespace, labels, ports, address, reads.node ? (pod.node ?? '') : '', reads.serviceAccount ? (pod.serviceAccount ?? 'default') : '']);
}

export interface PodClasses {
  /** Class of each snapshot pod, by pod index. */
  classOf: Int32Array;
  /** Snapshot pod index of each class's representative (its first pod). */
  reps: number[];
}

/** Partitions the snapshot's pods into classes no policy can tell apart. */
export function podClasses(snapshot: ClusterSnapshot): PodClasses {
  const reads = readsOf(snapshot);
  const { ids: classOf, reps } = numberByKey(snapshot.pods.map((pod) => classKey(pod, reads)));
  return { classOf, reps };
}

/** Verdicts over class pairs, looked up per snapshot pod pair. */
export interface ClassMatrices {
  snapshot: ClusterSnapshot;
  classes: PodClasses;
  /** The engine over the representatives only (explanations go to a full engine: see analyze.ts). */
  engine: PolicyEngine;
  /** The class matrix for one port query (computed once per query). */
  matrix(query: PortQuery, protocol: Protocol): FlowMatrix;
  /** Whether snapshot pod `from` may reach snapshot pod `to` on the query. */
  allowed(from: number, to: number, query: PortQuery, protocol: Protocol): boolean;
  /** Cells of the declared-ports matrix (every ordered pod pair × each port the destination declares); set by computeClassMatrices. */
  cellCount: number;
}

export function classMatrices(snapshot: ClusterSnapshot, classes: PodClasses = podClasses(snapshot)): ClassMatrices {
  const reps = classes.reps.map((i) => snapshot.pods[i] as PodInfo);
  const engine = createPolicyEngine({ ...snapshot, pods: reps });
  const c = reps.length;
  const cache = new Map<string, FlowMatrix>();
  const matrix = (query: PortQuery, protocol: Protocol): FlowMatrix => {
    const key = `${query}/${protocol}`;
    let m = cache.get(key);
    if (!m) cache.set(key, (m = engine.computeMatrix(query, protocol)));
    return m;
  };
  return {
    snapshot,
    classes,
    engine,
    matrix,
    allowed: (from, to, query, protocol) =>
      matrix(query, protocol).allowed[(classes.classOf[from] as number) * c + (classes.classOf[to] as number)] === 1,
    cellCount: 0,
  };
}

/**
 * The matrices `analyze` needs: one per port query (the asked port, or every port some destination declares),
 * computed eagerly so a benchmark measures the whole engine.
 */
export function computeClassMatrices(snapshot: ClusterSnapshot, options: { port?: PortQuery; protocol?: Protocol }): ClassMatrices {
  const m = classMatrices(snapshot);
  const n = snapshot.pods.length;
  if (options.port !== undefined) {
    m.matrix(options.port, options.protocol ?? 'TCP');
    m.cellCount = n * n;
    return m;
  }
  const queries = new Map<string, { port: number; protocol: Protocol }>();
  let perSource = 0;
  for (const pod of snapshot.pods) {
    const seen = new Set<string>();
    for (const p of pod.ports) {
      if (options.protocol && p.protocol !== options.protocol) continue;
      const key = `${p.containerPort}/${p.protocol}`;
      if (seen.has(key)) continue;
      seen.add(key);
      queries.set(key, { port: p.containerPort, protocol: p.protocol });
    }
    perSource += seen.size;
  }
  for (const q of queries.values()) m.matrix(q.port, q.protocol);
  m.cellCount = n * perSource;
  return m;
}
