/**
 * The NetworkPolicy engine (networking.k8s.io/v1 semantics), pure.
 *
 * Kubernetes rules implemented here, in the order they bite:
 * - A policy selects pods in its own namespace with spec.podSelector (`{}` = all).
 * - Effective policyTypes: as given; when absent, Ingress always, plus Egress iff the policy has egress rules.
 * - A pod is isolated for a direction iff some policy selecting it has that type; policies are additive
 *   (a flow is admitted in a direction if ANY rule of ANY isolating policy admits it).
 * - A rule admits a flow when a peer matches AND a port matches. No `from`/`to` (or an empty list) = all peers;
 *   no `ports` (or an empty list) = all ports.
 * - Peer: podSelector alone = pods in the policy's namespace; namespaceSelector alone = all pods in matching
 *   namespaces; both in one peer = AND; separate peers = OR; ipBlock = CIDR minus except.
 * - A flow between two pods is allowed only if the source's egress AND the destination's ingress allow it.
 *   An address endpoint (outside the pod network) is not policed on its own side.
 *
 * Choices where the API leaves room (documented so diagnosis can cite them):
 * - ipBlock matches pod endpoints by pod IP, as Calico, Cilium and kube-router do (the API says ipBlock is
 *   meant for cluster-external IPs, but CNIs do not exempt pod IPs). A pod without a known IP never matches.
 * - Self-traffic (a pod to itself) is evaluated by the same rules as any other pair.
 * - An address that equals a known pod's IP is still treated as an address; callers resolve pod IPs first.
 */
import { adminActionAllows, createAdminEvaluator, dependenceNotes, type AdminDependence } from './admin.js';
import { createCalicoEvaluator, type TierOutcome } from './calico-policy.js';
import { declaredPortsKey, numberByKey } from './class-ids.js';
import { cidrContains, parseAddress, parseCidr, type ParsedAddress, type ParsedCidr } from './cidr.js';
import { compareByNamespaceName, compareStrings, NAMESPACE_NAME_LABEL } from './from-objects.js';
import { findMatchingPort, formatPolicyPort, formatPort, resolvePort, type PortQuery } from './ports.js';
import { explainSelectorMiss, formatSelector, matchesSelector } from './selectors.js';
import type {
  AdmittingRule,
  ClusterSnapshot,
  ContainerPort,
  Direction,
  DirectionVerdict,
  Endpoint,
  FlowVerdict,
  Labels,
  MayDecide,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  OtherPolicy,
  PodInfo,
  Protocol,
} from './types.js';

interface CompiledBlock {
  cidr: ParsedCidr | undefined;
  except: ParsedCidr[];
}

interface CompiledPeer {
  peer: NetworkPolicyPeer;
  /** Global id across the snapshot (for pod equivalence classes). */
  id: number;
  /** Membership of snapshot pods, by pod index. */
  members: Uint8Array;
  block: CompiledBlock | undefined;
}

interface CompiledRule {
  index: number;
  /** undefined: the rule has no peers, so it admits every peer. */
  peers: CompiledPeer[] | undefined;
  ports: NetworkPolicyPort[] | undefined;
}

interface CompiledPolicy {
  policy: NetworkPolicy;
  key: string;
  /** Effective policyTypes after defaulting. */
  ingress: boolean;
  egress: boolean;
  ingressRules: CompiledRule[];
  egressRules: CompiledRule[];
}

/** The full matrix over snapshot pods for one port query. */
export interface FlowMatrix {
  pods: readonly PodInfo[];
  protocol: Protocol;
  query: PortQuery;
  /** Resolved destination port per pod (undefined: a named port the pod does not declare). */
  ports: ReadonlyArray<number | undefined>;
  /** allowed[from * n + to] is 1 when the flow is allowed. */
  allowed: Uint8Array;
}

export interface PolicyEngine {
  readonly snapshot: ClusterSnapshot;
  /** Evaluates one flow with its full explanation. Pods need not be in the snapshot (e.g. probe pods). */
  evaluateFlow(from: Endpoint, to: Endpoint, port: PortQuery, protocol?: Protocol): FlowVerdict;
  /** Policies that select the pod (either direction), sorted by namespace/name. */
  policiesSelecting(pod: PodInfo): NetworkPolicy[];
  /** Policies that isolate the pod for one direction, as "namespace/name", sorted. */
  isolatingPolicies(pod: PodInfo, direction: Direction): string[];
  /** Snapshot pods a policy selects, sorted. */
  podsSelectedBy(policy: NetworkPolicy): PodInfo[];
  /** Snapshot pods a peer of a policy matches (for lint and diagnosis). */
  podsMatchingPeer(policy: NetworkPolicy, peer: NetworkPolicyPeer): PodInfo[];
  /** Labels of a namespace as the API server would have them (only the name label if undeclared). */
  namespaceLabels(namespace: string): Labels;
  /** Snapshot pod by namespace and name. */
  findPod(namespace: string, name: string): PodInfo | undefined;
  /** Calico (and other non-evaluated) policies that may select the pod for a direction, in Calico's order. */
  otherPoliciesSelecting(pod: PodInfo, direction: Direction): OtherPolicy[];
  /** Boolean verdicts for every ordered pair of snapshot pods (self pairs included), computed per equivalence class. */
  computeMatrix(port: PortQuery, protocol?: Protocol): FlowMatrix;
}

export function policyKey(policy: { namespace: string; name: string }): string {
  return `${policy.namespace}/${policy.name}`;
}

export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

function effectiveTypes(policy: NetworkPolicy): { ingress: boolean; egress: boolean } {
  if (policy.policyTypes && policy.policyTypes.length > 0) {
    return { ingress: policy.policyTypes.includes('Ingress'), egress: policy.policyTypes.includes('Egress') };
  }
  return { ingress: true, egress: (policy.egress ?? []).length > 0 };
}

function compileBlock(peer: NetworkPolicyPeer): CompiledBlock | undefined {
  if (!peer.ipBlock) return undefined;
  return {
    cidr: parseCidr(peer.ipBlock.cidr),
    except: (peer.ipBlock.except ?? []).map(parseCidr).filter((c): c is ParsedCidr => c !== undefined),
  };
}

function blockContains(block: CompiledBlock, address: ParsedAddress | undefined): boolean {
  if (!address || !block.cidr) return false;
  return cidrContains(block.cidr, address) && !block.except.some((e) => cidrContains(e, address));
}

/** "namespaceSelector name=kube-system", "podSelector app=web + namespaceSelector {}", "ipBlock 0.0.0.0/0 except 10.0.0.0/8". */
export function describePeer(peer: NetworkPolicyPeer): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except ?? [];
    return `ipBlock ${peer.ipBlock.cidr}${except.length > 0 ? ` except ${except.join(', ')}` : ''}`;
  }
  const parts: string[] = [];
  if (peer.podSelector) parts.push(`podSelector ${formatSelector(peer.podSelector)}`);
  if (peer.namespaceSelector) parts.push(`namespaceSelector ${formatSelector(peer.namespaceSelector)}`);
  return parts.join(' + ');
}

function describePorts(ports: readonly NetworkPolicyPort[] | undefined): string {
  if (!ports || ports.length === 0) return 'all ports';
  return `[${ports.map(formatPolicyPort).join(', ')}]`;
}

function endpointName(e: Endpoint): string {
  return e.kind === 'pod' ? podKey(e.pod) : e.ip;
}

export function createPolicyEngine(snapshot: ClusterSnapshot): PolicyEngine {
  const pods = snapshot.pods;
  const n = pods.length;
  const podIndex = new Map<string, number>();
  pods.forEach((p, i) => podIndex.set(podKey(p), i));
  const podAddresses = pods.map((p) => (p.ip ? parseAddress(p.ip) : undefined));

  const nsLabels = new Map<string, Labels>();
  for (const ns of snapshot.namespaces) nsLabels.set(ns.name, ns.labels);
  const namespaceLabels = (ns: string): Labels => nsLabels.get(ns) ?? { [NAMESPACE_NAME_LABEL]: ns };

  // Index pods by namespace and by label key=value so selectors start from a small candidate list.
  const podsByNs = new Map<string, number[]>();
  const podsByLabel = new Map<string, number[]>();
  pods.forEach((p, i) => {
    let list = podsByNs.get(p.namespace);
    if (!list) podsByNs.set(p.namespace, (list = []));
    list.push(i);
    for (const [k, v] of Object.entries(p.labels)) {
      const key = `${k}=${v}`;
      let l = podsByLabel.get(key);
      if (!l) podsByLabel.set(key, (l = []));
      l.push(i);
    }
  });
  const allNamespaces = [...new Set([...nsLabels.keys(), ...podsByNs.keys()])].sort(compareStrings);
  const admin = createAdminEvaluator(snapshot.adminPolicies ?? [], { pods, podAddresses, namespaceLabels, nodes: snapshot.nodes });
  const calico = createCalicoEvaluator(snapshot.otherPolicies ?? [], { namespaceLabels });

  const podsMatching = (namespaces: readonly string[], selector: NetworkPolicyPeer['podSelector']): number[] => {
    const nsSet = new Set(namespaces);
    let candidates: number[] | undefined;
    for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) {
      const list = podsByLabel.get(`${k}=${v}`) ?? [];
      if (!candidates || list.length < candidates.length) candidates = list;
    }
    if (!candidates) {
      candidates = [];
      for (const ns of namespaces) candidates.push(...(podsByNs.get(ns) ?? []));
    }
    return candidates.filter((i) => {
      const pod = pods[i] as PodInfo;
      return nsSet.has(pod.namespace) && (!selector || matchesSelector(selector, pod.labels));
    });
  };

  const namespacesMatching = (selector: NetworkPolicyPeer['namespaceSelector']): string[] =>
    selector ? allNamespaces.filter((ns) => matchesSelector(selector, namespaceLabels(ns))) : [];

  let peerCount = 0;
  const compilePeer = (policy: NetworkPolicy, peer: NetworkPolicyPeer): CompiledPeer => {
    const id = peerCount++;
    const members = new Uint8Array(n);
    const block = compileBlock(peer);
    if (block) {
      podAddresses.forEach((a, i) => {
        if (blockContains(block, a)) members[i] = 1;
      });
    } else {
      const namespaces = peer.namespaceSelector ? namespacesMatching(peer.namespaceSelector) : [policy.namespace];
      for (const i of podsMatching(namespaces, peer.podSelector)) members[i] = 1;
    }
    return { peer, id, members, block };
  };

  const compileRules = (
    policy: NetworkPolicy,
    rules: ReadonlyArray<{ peers: NetworkPolicyPeer[] | undefined; ports: NetworkPolicyPort[] | undefined }>,
  ): CompiledRule[] =>
    rules.map((r, index) => ({
      index,
      peers: r.peers && r.peers.length > 0 ? r.peers.map((p) => compilePeer(policy, p)) : undefined,
      ports: r.ports && r.ports.length > 0 ? r.ports : undefined,
    }));

  const compiled: CompiledPolicy[] = [...snapshot.policies]
    .sort((a, b) => compareStrings(policyKey(a), policyKey(b)))
    .map((policy) => {
      const types = effectiveTypes(policy);
      return {
        policy,
        key: policyKey(policy),
        ...types,
        ingressRules: types.ingress ? compileRules(policy, (policy.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))) : [],
        egressRules: types.egress ? compileRules(policy, (policy.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }))) : [],
      };
    });
  const policiesByNs = new Map<string, CompiledPolicy[]>();
  for (const c of compiled) {
    let list = policiesByNs.get(c.policy.namespace);
    if (!list) policiesByNs.set(c.policy.namespace, (list = []));
    list.push(c);
  }
  const compiledByPolicy = new Map<NetworkPolicy, CompiledPolicy>(compiled.map((c) => [c.policy, c]));

  // Per snapshot pod: the policies isolating it in each direction.
  const ingressOf: CompiledPolicy[][] = pods.map(() => []);
  const egressOf: CompiledPolicy[][] = pods.map(() => []);
  const selectedBy = new Map<CompiledPolicy, number[]>();
  for (const c of compiled) {
    const selected = podsMatching([c.policy.namespace], c.policy.podSelector);
    selectedBy.set(c, selected);
    for (const i of selected) {
      if (c.ingress) ingressOf[i]?.push(c);
      if (c.egress) egressOf[i]?.push(c);
    }
  }

  const selecting = (pod: PodInfo): CompiledPolicy[] =>
    (policiesByNs.get(pod.namespace) ?? []).filter((c) => matchesSelector(c.policy.podSelector, pod.labels));

  // ---- explained evaluation (any endpoints, snapshot or not) ----

  const peerMatchesEndpoint = (policy: NetworkPolicy, cp: CompiledPeer, e: Endpoint): boolean => {
    if (cp.block) {
      const address = e.kind === 'pod' ? (e.pod.ip ? parseAddress(e.pod.ip) : undefined) : parseAddress(e.ip);
      return blockContains(cp.block, address);
    }
    if (e.kind !== 'pod') return false;
    const peer = cp.peer;
    const nsOk = peer.namespaceSelector
      ? matchesSelector(peer.namespaceSelector, namespaceLabels(e.pod.namespace))
      : e.pod.namespace === policy.namespace;
    return nsOk && (!peer.podSelector || matchesSelector(peer.podSelector, e.pod.labels));
  };

  const explainPeerMiss = (policy: NetworkPolicy, cp: CompiledPeer, e: Endpoint): string => {
    const peer = cp.peer;
    const desc = describePeer(peer);
    if (peer.ipBlock) {
      if (!cp.block?.cidr) return `${desc}: CIDR ${peer.ipBlock.cidr} is not valid`;
      const ipText = e.kind === 'pod' ? e.pod.ip : e.ip;
      if (!ipText) return `${desc}: pod ${endpointName(e)} has no known IP, so no ipBlock can match it`;
      const address = parseAddress(ipText);
      if (!address) return `${desc}: ${ipText} is not an IP address`;
      if (!cidrContains(cp.block.cidr, address)) return `${desc}: ${ipText} is outside ${peer.ipBlock.cidr}`;
      const ex = (peer.ipBlock.except ?? []).find((x) => {
        const c = parseCidr(x);
        return c !== undefined && cidrContains(c, address);
      });
      return `${desc}: ${ipText} is in the excepted ${ex ?? 'range'}`;
    }
    if (e.kind !== 'pod') return `${desc} selects pods, and ${e.ip} is not a pod`;
    const pod = e.pod;
    if (peer.namespaceSelector) {
      const misses = explainSelectorMiss(peer.namespaceSelector, namespaceLabels(pod.namespace));
      if (misses.length > 0) {
        return `namespaceSelector ${formatSelector(peer.namespaceSelector)}: namespace ${pod.namespace} ${misses.join(' and ')}`;
      }
    } else if (pod.namespace !== policy.namespace) {
      return `${desc} without namespaceSelector only selects pods in namespace ${policy.namespace}, and ${podKey(pod)} is in ${pod.namespace}`;
    }
    if (peer.podSelector) {
      const misses = explainSelectorMiss(peer.podSelector, pod.labels);
      if (misses.length > 0) return `podSelector ${formatSelector(peer.podSelector)}: pod ${podKey(pod)} ${misses.join(' and ')}`;
    }
    return `${desc}: no match`;
  };

  const explainDirection = (
    direction: Direction,
    subject: Endpoint,
    peer: Endpoint,
    destPorts: readonly ContainerPort[] | undefined,
    port: number | undefined,
    portLabel: string,
    protocol: Protocol,
  ): DirectionVerdict => {
    if (subject.kind !== 'pod') {
      return { direction, allowed: true, reason: 'not-applicable', isolatedBy: [], admittedBy: [], nearMisses: [] };
    }
    const isolating = selecting(subject.pod).filter((c) => (direction === 'ingress' ? c.ingress : c.egress));
    const isolatedBy = isolating.map((c) => c.key);
    // The Admin tier first; Pass (or no match) hands the flow to NetworkPolicies, then the Baseline tier.
    // Rules whose match the input cannot settle (admin.ts) are noted where they would change the verdict.
    const depends: AdminDependence[] = [];
    const withDepends = (d: DirectionVerdict): DirectionVerdict => {
      const notes = dependenceNotes(depends, d.allowed);
      return notes.length > 0 ? { ...d, dependsOn: notes } : d;
    };
    const adminDecision = admin.active ? admin.decideExplained('admin', direction, subject.pod, peer, destPorts, port, protocol) : undefined;
    const adminRef = adminDecision?.ref;
    depends.push(...(adminDecision?.depends ?? []));
    if (adminRef && adminRef.action !== 'Pass') {
      return withDepends({ direction, allowed: adminActionAllows(adminRef.action), reason: 'admin-policy', isolatedBy, admittedBy: [], nearMisses: [], decidedBy: adminRef });
    }
    const passed = adminRef ? { passedBy: adminRef } : {};
    const afterTier = (): DirectionVerdict => {
      const baselineDecision = admin.active ? admin.decideExplained('baseline', direction, subject.pod, peer, destPorts, port, protocol) : undefined;
      const baseline = baselineDecision?.ref;
      depends.push(...(baselineDecision?.depends ?? []));
      // A Baseline-tier Pass (ClusterNetworkPolicy) skips the rest of the tier: the default, allowed.
      if (baseline && baseline.action !== 'Pass') {
        return withDepends({ direction, allowed: adminActionAllows(baseline.action), reason: 'admin-policy', isolatedBy, admittedBy: [], nearMisses: [], decidedBy: baseline, ...passed });
      }
      return withDepends({ direction, allowed: true, reason: 'not-isolated', isolatedBy, admittedBy: [], nearMisses: [], ...(baseline ? { passedBy: baseline } : passed) });
    };
    if (isolating.length === 0 && !calico.active) return afterTier();
    const admittedBy: AdmittingRule[] = [];
    const misses: Array<{ rank: number; text: string }> = [];
    const fromTo = direction === 'ingress' ? 'from' : 'to';
    for (const c of isolating) {
      const rules = direction === 'ingress' ? c.ingressRules : c.egressRules;
      for (const rule of rules) {
        const where = `${c.key} ${direction}[${rule.index}]`;
        const peerIndex = rule.peers ? rule.peers.findIndex((cp) => peerMatchesEndpoint(c.policy, cp, peer)) : undefined;
        const portIndex = findMatchingPort(rule.ports, destPorts, port, protocol);
        const peerOk = peerIndex === undefined || peerIndex >= 0;
        const portOk = portIndex === undefined || portIndex >= 0;
        if (peerOk && portOk) {
          const peerText = peerIndex === undefined ? `${fromTo} any peer` : `${fromTo} ${describePeer(rule.peers?.[peerIndex]?.peer ?? {})}`;
          const pp = portIndex === undefined ? undefined : rule.ports?.[portIndex];
          const portText = pp ? `port ${formatPolicyPort(pp)}` : 'all ports';
          const admitted: AdmittingRule = { policy: c.key, direction, ruleIndex: rule.index, text: `${where} (${peerText}) ${portText}` };
          if (peerIndex !== undefined) admitted.peerIndex = peerIndex;
          if (portIndex !== undefined) admitted.portIndex = portIndex;
          admittedBy.push(admitted);
          continue;
        }
        const reasons: string[] = [];
        if (!peerOk) reasons.push((rule.peers ?? []).map((cp) => explainPeerMiss(c.policy, cp, peer)).join('; or '));
        if (!portOk) {
          reasons.push(
            port === undefined
              ? `the destination declares no port ${portLabel}, so the rule's ports ${describePorts(rule.ports)} cannot match it`
              : `port ${portLabel} not in rule's ports ${describePorts(rule.ports)}`,
          );
        }
        // A rule whose namespaceSelector names the peer's namespace is evidently meant for it: list it first.
        const aimed = peer.kind === 'pod' && (rule.peers ?? []).some((cp) => Object.values(cp.peer.namespaceSelector?.matchLabels ?? {}).includes(peer.pod.namespace));
        misses.push({ rank: aimed ? -1 : peerOk ? 0 : portOk ? 1 : 2, text: `${where}: ${reasons.join('; and ')}` });
      }
      if (rules.length === 0) misses.push({ rank: 3, text: `${c.key} has no ${direction} rules: it denies all ${direction}` });
    }
    misses.sort((a, b) => a.rank - b.rank);
    const kubernetesOnly = (): DirectionVerdict => {
      if (isolating.length === 0) return afterTier();
      if (admittedBy.length > 0) return withDepends({ direction, allowed: true, reason: 'admitted', isolatedBy, admittedBy, nearMisses: [], ...passed });
      return withDepends({ direction, allowed: false, reason: 'no-matching-rule', isolatedBy, admittedBy, nearMisses: misses.map((m) => m.text), ...passed });
    };
    if (!calico.active) return kubernetesOnly();
    // Calico's default tier: its policies and the NetworkPolicies (order 1000) in felix's order.
    const outcome = calico.decide(
      direction,
      subject.pod,
      peer,
      isolating.map((c) => ({ namespace: c.policy.namespace, name: c.policy.name, admits: admittedBy.some((a) => a.policy === c.key) })),
      { port, protocol, destPorts },
    );
    return withDepends(calicoVerdict(outcome, direction, kubernetesOnly, afterTier, misses.map((m) => m.text), passed));
  };

  const calicoVerdict = (
    outcome: TierOutcome,
    direction: Direction,
    kubernetesOnly: () => DirectionVerdict,
    afterTier: () => DirectionVerdict,
    nearMisses: string[],
    passed: Pick<DirectionVerdict, 'passedBy'>,
  ): DirectionVerdict => {
    switch (outcome.kind) {
      case 'kubernetes':
      case 'no-policy':
        return kubernetesOnly();
      case 'calico':
        return { direction, allowed: outcome.allowed, reason: 'calico-policy', isolatedBy: outcome.applied, admittedBy: [], nearMisses: [], calicoRule: outcome.by, ...passed };
      case 'pass': {
        // Pass skips the rest of the default tier; what follows (the baseline, then the namespace profile) decides.
        const after = afterTier();
        return after.reason === 'admin-policy' ? { ...after, calicoRule: outcome.by } : { direction, allowed: true, reason: 'calico-policy', isolatedBy: outcome.applied, admittedBy: [], nearMisses: [], calicoRule: outcome.by, ...passed };
      }
      case 'end-of-tier':
        if (outcome.calicoApplied.length === 0) return kubernetesOnly();
        return { direction, allowed: false, reason: 'calico-end-of-tier', isolatedBy: outcome.applied, admittedBy: [], nearMisses, ...passed };
      case 'unknown': {
        const p = outcome.policy;
        return { ...kubernetesOnly(), undecided: { kind: p.kind, name: p.namespace !== undefined ? `${p.namespace}/${p.name}` : p.name, text: outcome.reason } };
      }
    }
  };

  // A direction netcheck cannot decide (a Calico rule on something it does not model) makes the flow uncertain.
  const otherPoliciesSelecting = (pod: PodInfo, direction: Direction): OtherPolicy[] => calico.applying(pod, direction);
  const mayBeDecidedBy = (egress: DirectionVerdict, ingress: DirectionVerdict): MayDecide[] =>
    [egress, ingress].flatMap((d) =>
      d.undecided ? [{ kind: d.undecided.kind, name: d.undecided.name, selects: d.direction === 'egress' ? ('source' as const) : ('destination' as const), text: `${d.direction}: unknown, ${d.undecided.text}` }] : [],
    );

  const evaluateFlow = (from: Endpoint, to: Endpoint, query: PortQuery, protocol: Protocol = 'TCP'): FlowVerdict => {
    const destPorts = to.kind === 'pod' ? to.pod.ports : undefined;
    const port = resolvePort(query, destPorts, protocol);
    const portLabel = port === undefined ? `${query}/${protocol}` : typeof query === 'string' ? `${port}/${protocol} (${query})` : formatPort(port, protocol);
    const egress = explainDirection('egress', from, to, destPorts, port, portLabel, protocol);
    const ingress = explainDirection('ingress', to, from, destPorts, port, portLabel, protocol);
    const resolved = port !== undefined;
    const allowed = resolved && egress.allowed && ingress.allowed;
    const flow = `${endpointName(from)} -> ${endpointName(to)} on ${portLabel}`;
    let summary: string;
    if (!resolved) summary = `${flow}: not reachable, ${endpointName(to)} declares no ${protocol} port named ${String(query)}`;
    else if (allowed) summary = `${flow}: allowed (egress ${egress.reason}, ingress ${ingress.reason})`;
    else {
      const denied = [egress, ingress]
        .filter((d) => !d.allowed)
        .map((d) =>
          d.decidedBy
            ? `${d.direction} (${d.decidedBy.text})`
            : d.calicoRule
              ? `${d.direction} (${d.calicoRule.text})`
              : d.reason === 'calico-end-of-tier'
                ? `${d.direction} (end of Calico's default tier: ${d.isolatedBy.join(', ')} applied and no rule accepted it)`
                : `${d.direction} (isolated by ${d.isolatedBy.join(', ')}; no rule admits it)`,
        );
      summary = `${flow}: denied by ${denied.join(' and ')}`;
    }
    const verdict: FlowVerdict = { allowed, egress, ingress, port, protocol, summary };
    const dependsOn = [...(egress.dependsOn ?? []), ...(ingress.dependsOn ?? [])];
    if (resolved && dependsOn.length > 0) verdict.dependsOn = dependsOn;
    const mayDecide = mayBeDecidedBy(egress, ingress);
    if (mayDecide.length > 0) verdict.mayBeDecidedBy = mayDecide;
    return verdict;
  };

  // ---- fast matrix over snapshot pods ----
  // Pods isolated by the same policies behave identically as the policed side, so per direction and per
  // class of policed pod we compute once a bitmap over all pods of "the other side is admitted"; the pair
  // verdict is then two lookups. Port matching depends only on the destination's declared ports and the
  // resolved port, so it is cached per (rule, ports class of the destination).

  const policyIndex = new Map<CompiledPolicy, number>(compiled.map((c, i) => [c, i]));
  const policySetKey = (list: CompiledPolicy[]): string => list.map((c) => policyIndex.get(c)).join(',');
  const portsClass = numberByKey(pods.map(declaredPortsKey));
  const egressClass = numberByKey(egressOf.map(policySetKey));
  const ingressClass = numberByKey(ingressOf.map(policySetKey));

  const computeMatrix = (query: PortQuery, protocol: Protocol = 'TCP'): FlowMatrix => {
    const resolved = pods.map((p) => resolvePort(query, p.ports, protocol));
    const nPortClasses = portsClass.reps.length;
    // portOk.get(rule)[portsClass] : 1 admits, 0 not, -1 unknown.
    const portOkCache = new Map<CompiledRule, Int8Array>();
    const portOk = (rule: CompiledRule, d: number): boolean => {
      if (!rule.ports) return true;
      let row = portOkCache.get(rule);
      if (!row) portOkCache.set(rule, (row = new Int8Array(nPortClasses).fill(-1)));
      const pc = portsClass.ids[d] as number;
      let v = row[pc] as number;
      if (v === -1) {
        const dest = pods[portsClass.reps[pc] as number] as PodInfo;
        const m = findMatchingPort(rule.ports, dest.ports, resolved[d], protocol);
        v = m === undefined || m >= 0 ? 1 : 0;
        row[pc] = v;
      }
      return v === 1;
    };
    const everyone = new Uint8Array(n).fill(1);

    // Egress bitmap per egress class: which destinations (by pod index) the class may send to.
    const egressRows: Uint8Array[] = egressClass.reps.map((rep) => {
      const isolating = egressOf[rep] as CompiledPolicy[];
      if (isolating.length === 0) return everyone;
      const row = new Uint8Array(n);
      for (const c of isolating) {
        for (const rule of c.egressRules) {
          for (let d = 0; d < n; d++) {
            if (row[d] === 1 || resolved[d] === undefined) continue;
            if (rule.peers && !rule.peers.some((cp) => cp.members[d] === 1)) continue;
            if (portOk(rule, d)) row[d] = 1;
          }
        }
      }
      return row;
    });

    // Ingress bitmap per (ingress class, ports class): which sources may reach the destination.
    const ingressRows = new Map<string, Uint8Array>();
    const ingressRowFor = (d: number): Uint8Array => {
      const isolating = ingressOf[d] as CompiledPolicy[];
      if (isolating.length === 0) return everyone;
      const key = `${ingressClass.ids[d]}|${portsClass.ids[d]}`;
      let row = ingressRows.get(key);
      if (row) return row;
      row = new Uint8Array(n);
      for (const c of isolating) {
        for (const rule of c.ingressRules) {
          if (!portOk(rule, d)) continue;
          if (!rule.peers) {
            row.fill(1);
            break;
          }
          for (const cp of rule.peers) {
            const members = cp.members;
            for (let s = 0; s < n; s++) if (members[s] === 1) row[s] = 1;
          }
        }
      }
      ingressRows.set(key, row);
      return row;
    };

    const allowed = new Uint8Array(n * n);
    if (calico.active) {
      // Calico's ordered tier does not reduce to the per-class bitmaps below: each pair is evaluated in full.
      for (let d = 0; d < n; d++) {
        if (resolved[d] === undefined) continue;
        const to: Endpoint = { kind: 'pod', pod: pods[d] as PodInfo };
        for (let s = 0; s < n; s++) {
          if (evaluateFlow({ kind: 'pod', pod: pods[s] as PodInfo }, to, query, protocol).allowed) allowed[s * n + d] = 1;
        }
      }
      return { pods, protocol, query, ports: resolved, allowed };
    }
    if (!admin.active) {
      for (let d = 0; d < n; d++) {
        if (resolved[d] === undefined) continue;
        const inRow = ingressRowFor(d);
        for (let s = 0; s < n; s++) {
          if (inRow[s] === 1 && (egressRows[egressClass.ids[s] as number] as Uint8Array)[d] === 1) allowed[s * n + d] = 1;
        }
      }
      return { pods, protocol, query, ports: resolved, allowed };
    }
    // With admin policies, each direction is: AdminNetworkPolicy (Allow/Deny; Pass or nothing falls through),
    // then the NetworkPolicies if any isolate the subject, else the baseline (Deny, or allowed).
    const directionAllows = (direction: Direction, subject: number, peer: number, d: number, npRow: Uint8Array, npIndex: number, isolated: boolean): boolean => {
      const destPorts = (pods[d] as PodInfo).ports;
      const port = resolved[d];
      if (admin.appliesTo('admin', direction, subject)) {
        const action = admin.decideIndexed('admin', direction, subject, peer, destPorts, port, protocol);
        if (action === 'Deny') return false;
        if (action !== undefined && adminActionAllows(action)) return true;
      }
      if (isolated) return npRow[npIndex] === 1;
      if (!admin.appliesTo('baseline', direction, subject)) return true;
      return admin.decideIndexed('baseline', direction, subject, peer, destPorts, port, protocol) !== 'Deny';
    };
    for (let d = 0; d < n; d++) {
      if (resolved[d] === undefined) continue;
      const inRow = ingressRowFor(d);
      const inIsolated = (ingressOf[d] as CompiledPolicy[]).length > 0;
      for (let s = 0; s < n; s++) {
        const outRow = egressRows[egressClass.ids[s] as number] as Uint8Array;
        const outIsolated = (egressOf[s] as CompiledPolicy[]).length > 0;
        if (directionAllows('ingress', d, s, d, inRow, s, inIsolated) && directionAllows('egress', s, d, d, outRow, d, outIsolated)) {
          allowed[s * n + d] = 1;
        }
      }
    }
    return { pods, protocol, query, ports: resolved, allowed };
  };

  const sortPods = (idx: number[]): PodInfo[] =>
    idx.map((i) => pods[i] as PodInfo).sort(compareByNamespaceName);

  return {
    snapshot,
    evaluateFlow,
    policiesSelecting: (pod) => selecting(pod).map((c) => c.policy),
    isolatingPolicies: (pod, direction) =>
      selecting(pod)
        .filter((c) => (direction === 'ingress' ? c.ingress : c.egress))
        .map((c) => c.key),
    podsSelectedBy: (policy) => {
      const c = compiledByPolicy.get(policy);
      return sortPods(c ? (selectedBy.get(c) ?? []) : podsMatching([policy.namespace], policy.podSelector));
    },
    podsMatchingPeer: (policy, peer) => {
      const block = compileBlock(peer);
      if (block) return sortPods(pods.map((_, i) => i).filter((i) => blockContains(block, podAddresses[i])));
      const namespaces = peer.namespaceSelector ? namespacesMatching(peer.namespaceSelector) : [policy.namespace];
      return sortPods(podsMatching(namespaces, peer.podSelector));
    },
    namespaceLabels,
    otherPoliciesSelecting,
    findPod: (namespace, name) => {
      const i = podIndex.get(`${namespace}/${name}`);
      return i === undefined ? undefined : pods[i];
    },
    computeMatrix,
  };
}

/** Plain-words rendering of a verdict, one line per fact, for `explain` and diagnosis. */
export function describeFlow(verdict: FlowVerdict, from: Endpoint, to: Endpoint): string[] {
  const lines: string[] = [];
  const portText = verdict.port === undefined ? `an undeclared port/${verdict.protocol}` : `${verdict.port}/${verdict.protocol}`;
  lines.push(`${verdict.allowed ? 'ALLOWED' : 'DENIED'}: ${endpointName(from)} -> ${endpointName(to)} on ${portText}`);
  if (verdict.port === undefined) {
    lines.push(`  ${endpointName(to)} declares no container port with that name, so nothing can reach it there.`);
  }
  for (const d of [verdict.egress, verdict.ingress]) {
    const who = d.direction === 'egress' ? `egress from ${endpointName(from)}` : `ingress to ${endpointName(to)}`;
    switch (d.reason) {
      case 'not-applicable':
        lines.push(`  ${who}: not policed (${d.direction === 'egress' ? endpointName(from) : endpointName(to)} is not a pod).`);
        break;
      case 'from-own-node':
        lines.push(`  ${who}: allowed; it comes from the pod's own node, which NetworkPolicy always admits.`);
        break;
      case 'not-isolated':
        lines.push(`  ${who}: allowed; no NetworkPolicy selects the pod for ${d.direction}, so it is not isolated.`);
        break;
      case 'admitted':
        lines.push(`  ${who}: allowed; isolated by ${d.isolatedBy.join(', ')}, admitted by:`);
        for (const a of d.admittedBy) lines.push(`    - ${a.text}`);
        break;
      case 'no-matching-rule':
        lines.push(`  ${who}: DENIED; isolated by ${d.isolatedBy.join(', ')}, and no rule admits it. Closest rules:`);
        for (const m of d.nearMisses) lines.push(`    - ${m}`);
        break;
      case 'admin-policy':
        lines.push(`  ${who}: ${d.allowed ? 'allowed' : 'DENIED'} by ${d.decidedBy?.text ?? 'an admin policy'}`);
        if (d.decidedBy?.kind === 'AdminNetworkPolicy') {
          lines.push(`    (AdminNetworkPolicies take precedence over NetworkPolicies${d.isolatedBy.length > 0 ? `; ${d.isolatedBy.join(', ')} not consulted` : ''})`);
        } else if (d.decidedBy?.kind === 'ClusterNetworkPolicy' && d.decidedBy.tier !== 'Baseline') {
          lines.push(`    (the Admin tier takes precedence over NetworkPolicies${d.isolatedBy.length > 0 ? `; ${d.isolatedBy.join(', ')} not consulted` : ''})`);
        } else if (d.decidedBy?.kind === 'ClusterNetworkPolicy') {
          lines.push('    (the Baseline tier decides where the Admin tier did not and no NetworkPolicy isolates the pod)');
        } else {
          lines.push('    (the BaselineAdminNetworkPolicy decides where no AdminNetworkPolicy did and no NetworkPolicy isolates the pod)');
        }
        if (d.decidedBy?.orderNote) lines.push(`    (${d.decidedBy.orderNote})`);
        break;
      case 'calico-policy':
        if (d.calicoRule?.action === 'Pass') {
          lines.push(`  ${who}: allowed; ${d.calicoRule.text} skips the rest of Calico's default tier (NetworkPolicies included), and the namespace profile allows`);
        } else {
          lines.push(`  ${who}: ${d.allowed ? 'allowed' : 'DENIED'} by ${d.calicoRule?.text ?? 'a Calico rule'}`);
          lines.push(`    (Calico's default tier in order: ${d.isolatedBy.join(', ')}; the first Allow, Deny or Pass decides, NetworkPolicies sit at order 1000)`);
        }
        break;
      case 'calico-end-of-tier':
        lines.push(`  ${who}: DENIED at the end of Calico's default tier: ${d.isolatedBy.join(', ')} applied and no rule accepted or passed it (felix drops).`);
        for (const m of d.nearMisses) lines.push(`    - ${m}`);
        break;
      default: {
        const never: never = d.reason;
        lines.push(String(never));
      }
    }
    if (d.passedBy) {
      const next = d.passedBy.kind === 'ClusterNetworkPolicy' && d.passedBy.tier === 'Baseline' ? 'skipped the rest of the Baseline tier' : 'passed on to NetworkPolicies and the baseline';
      lines.push(`    (${d.passedBy.text}: ${next})`);
    }
  }
  if (verdict.dependsOn) {
    lines.push('  NOT CERTAIN: the verdict depends on what the input does not say:');
    for (const note of verdict.dependsOn) lines.push(`    - ${note}`);
  }
  if (verdict.mayBeDecidedBy) {
    lines.push('  NOT CERTAIN: a Calico rule depends on what netcheck does not model:');
    for (const m of verdict.mayBeDecidedBy) lines.push(`    - ${m.text}`);
  }
  return lines;
}


/**
 * The report lines of a verdict (run's policyExplanation, check, diagnosis), deciding line first: callers quote
 * the first line alone as the reason. A denied flow leads with the side that denies it (its isolating policies and
 * nearest misses). An allowed flow leads with the rule that let it through on each side a policy isolates —
 * both sides on that one line when both are isolated — so a side no policy isolates is never quoted as the reason.
 */
export function explainVerdict(flow: FlowVerdict): string[] {
  const egress = explainDirectionLine(flow.egress, flow);
  const ingress = explainDirectionLine(flow.ingress, flow);
  if (!flow.allowed) return !flow.egress.allowed || flow.ingress.allowed ? [egress, ingress] : [ingress, egress];
  const decided = (d: DirectionVerdict): boolean => d.reason === 'admitted' || d.reason === 'admin-policy' || d.reason === 'from-own-node' || d.reason === 'calico-policy';
  const e = decided(flow.egress);
  const i = decided(flow.ingress);
  if (e && i) return [`${egress}; ${ingress}`];
  if (i) return [ingress, egress];
  return [egress, ingress];
}

function explainDirectionLine(d: DirectionVerdict, flow: FlowVerdict): string {
  const port = `${flow.protocol}/${flow.port ?? '(unresolved named port)'}`;
  switch (d.reason) {
    case 'not-isolated':
      return `${d.direction}: allowed, no policy isolates this side`;
    case 'admitted': {
      const [first, ...also] = d.admittedBy.map((r) => r.text);
      return `${d.direction}: allowed by ${first ?? d.isolatedBy.join(', ')}${also.length > 0 ? ` (also by ${also.join('; ')})` : ''}`;
    }
    case 'no-matching-rule': {
      // The closest rules come first; past a few the list stops helping a human.
      const shown = d.nearMisses.slice(0, 3);
      const more = d.nearMisses.length > shown.length ? ` (+${d.nearMisses.length - shown.length} more)` : '';
      const near = shown.length > 0 ? `; near miss: ${shown.join('; ')}${more}` : '';
      return `${d.direction}: denied, isolated by ${d.isolatedBy.join(', ')} and no rule admits ${port}${near}`;
    }
    case 'admin-policy':
      return `${d.direction}: ${d.allowed ? 'allowed' : 'denied'} by ${d.decidedBy?.text ?? 'an admin network policy'}`;
    case 'not-applicable':
      return `${d.direction}: not policed (this end is an address, not a pod)`;
    case 'from-own-node':
      return `${d.direction}: allowed, from the endpoint's own node (kube-proxy masqueraded it to the node's address; NetworkPolicy always admits a pod's own node)`;
    case 'calico-policy':
      return d.calicoRule?.action === 'Pass'
        ? `${d.direction}: allowed, ${d.calicoRule.text} passes it past the rest of Calico's default tier to the namespace profile, which allows`
        : `${d.direction}: ${d.allowed ? 'allowed' : 'denied'} by ${d.calicoRule?.text ?? 'a Calico rule'}`;
    case 'calico-end-of-tier':
      return `${d.direction}: denied at the end of Calico's default tier, ${d.isolatedBy.join(', ')} applied and no rule accepted ${port}`;
  }
}
