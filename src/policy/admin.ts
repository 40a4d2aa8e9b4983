/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy evaluation (policy.networking.k8s.io/v1alpha1,
 * network-policy-api v0.1), pure. The rules implemented here, from the API's own documentation
 * (apis/v1alpha1/adminnetworkpolicy_types.go, baselineadminnetworkpolicy_types.go, shared_types.go):
 * - Per direction, the policed pod is the *subject*: for ingress the destination, for egress the source.
 *   subject.namespaces selects every pod of the matching namespaces; subject.pods needs namespaceSelector AND
 *   podSelector. Host-networked pods are never subjects (netcheck models none).
 * - AdminNetworkPolicies are checked before NetworkPolicies, lower `priority` first ("Rules with lower priority
 *   values have higher precedence"); within one policy, rules in the order written. The first rule whose peers
 *   and ports match decides: Allow (even if NetworkPolicies would deny), Deny, or Pass ("skip any remaining ANP
 *   rules, and then pass execution to any NetworkPolicies that select the pod").
 * - "If the pod is not selected by any NetworkPolicies then execution is passed to any
 *   BaselineAdminNetworkPolicies that select the pod": the baseline (one object, named `default`) decides only
 *   where no NetworkPolicy isolates the subject in that direction; its rules Allow or Deny, first match wins.
 *   Nothing matching anywhere leaves the flow allowed, as Kubernetes does for a pod nothing isolates.
 * - Peers: `namespaces` = all pods in matching namespaces; `pods` = namespaceSelector AND podSelector;
 *   `networks` = CIDRs, which "cluster-internal traffic will be checked against the rule as well. So if you Allow
 *   or Deny traffic to "0.0.0.0/0", that will allow or deny all IPv4 pod-to-pod traffic as well"
 *   (AdminNetworkPolicyEgressPeer.Networks, v0.1.7; ClusterNetworkPolicyEgressPeer.Networks, v0.3.0). So they
 *   match pod IPs too; and a pod whose address the input does not give (every Deployment in manifests) is still
 *   matched by a CIDR holding the whole pod network: a /0, or one holding every node's spec.podCIDRs when all
 *   nodes give them. A CIDR disjoint from the known pod CIDRs matches no pod; any other makes the verdict depend
 *   on the pod's address, and the verdict says so (`dependsOn`) instead of silently not matching.
 *   `nodes` (egress) selects nodes by label and matches their addresses (Node status InternalIP /
 *   ExternalIP, known from a live cluster), never a pod (host-networked pods are not modelled).
 *   From manifests, which hold no node addresses, it matches nothing.
 * - ClusterNetworkPolicy (v1alpha2; cluster-network-policy.ts) joins these tiers: tier Admin beside the
 *   AdminNetworkPolicies, tier Baseline beside the BaselineAdminNetworkPolicy; Accept is Allow; Pass in the
 *   Baseline tier skips the rest of that tier (the flow is then allowed). `domainNames` (egress, Accept only)
 *   matches the addresses DNS gives for the names at run time, which netcheck does not see: toward an address it
 *   makes the verdict depend on DNS; toward a pod it matches only a name that can be a pod's in-cluster DNS
 *   record (…pod.cluster.local, a headless …svc.cluster.local; NPEP-133), and then depends too.
 *   How both API versions order against each other is not said by the API: see compareAdminPolicies.
 * - Ports are the destination's ("for the ingress traffic ... the pods selected for this policy"; for egress
 *   "destination ports"); absent `ports` = every port.
 * Equal priorities are undefined behaviour in the API; netcheck orders them by name so output is stable.
 */
import { cidrContains, cidrCovers, cidrsOverlap, parseAddress, parseCidr, type ParsedAddress, type ParsedCidr } from './cidr.js';
import { compareAdminPolicies } from './from-objects.js';
import { adminPortsMatch } from './ports.js';
import { matchesSelector } from './selectors.js';
import type {
  AdminAction,
  AdminPolicy,
  AdminPolicyPeer,
  AdminPolicyRule,
  AdminPolicySubject,
  AdminRuleRef,
  ContainerPort,
  Direction,
  Endpoint,
  Labels,
  NodeInfo,
  PodInfo,
  Protocol,
} from './types.js';

/** A peer's match on an endpoint: `depends` when it hangs on what the input does not give (an address, DNS). */
type PeerMatch = { match: 'yes' } | { match: 'no' } | { match: 'depends'; why: string };
const YES: PeerMatch = { match: 'yes' };
const NO: PeerMatch = { match: 'no' };

/** Accept (v1alpha2) and Allow (v1alpha1) both admit the flow. */
export function adminActionAllows(action: AdminAction): boolean {
  return action === 'Allow' || action === 'Accept';
}

interface CompiledAdminPeer {
  peer: AdminPolicyPeer;
  networks: ParsedCidr[] | undefined;
  /** Addresses of the nodes a `nodes` peer selects. */
  nodes: ParsedAddress[] | undefined;
  /** Membership of snapshot pods, by pod index (1 only where the match is certain). */
  members: Uint8Array;
}

interface CompiledAdminRule {
  index: number;
  rule: AdminPolicyRule;
  peers: CompiledAdminPeer[];
}

interface CompiledAdminPolicy {
  policy: AdminPolicy;
  subjects: Uint8Array;
  ingress: CompiledAdminRule[];
  egress: CompiledAdminRule[];
}

export interface AdminContext {
  pods: readonly PodInfo[];
  /** The cluster's nodes, for `nodes` peers (their labels and addresses) and the pod network (their podCIDRs). */
  nodes?: readonly NodeInfo[];
  podAddresses: ReadonlyArray<ParsedAddress | undefined>;
  namespaceLabels(namespace: string): Labels;
}

export type AdminTier = 'admin' | 'baseline';

/** A rule reached before the tier's decision whose match hangs on what the input does not give. */
export interface AdminDependence {
  ref: AdminRuleRef;
  /** "the address of ns/pod is in 10.0.0.0/8, and the input gives no address for it (no status.podIP)". */
  why: string;
}

export interface AdminDecision {
  /** The first rule of the tier whose peers and ports surely match. */
  ref: AdminRuleRef | undefined;
  /** Rules before it whose match is uncertain, in evaluation order. */
  depends: AdminDependence[];
}

export interface AdminEvaluator {
  /** Whether any admin policy exists (the engine keeps its faster path otherwise). */
  readonly active: boolean;
  /** The first matching rule of the tier for a direction of `subject` (any pods, snapshot or not). */
  decide(tier: AdminTier, direction: Direction, subject: PodInfo, peer: Endpoint, destPorts: readonly ContainerPort[] | undefined, port: number | undefined, protocol: Protocol): AdminRuleRef | undefined;
  /** The same, with the rules before it whose match is uncertain. */
  decideExplained(tier: AdminTier, direction: Direction, subject: PodInfo, peer: Endpoint, destPorts: readonly ContainerPort[] | undefined, port: number | undefined, protocol: Protocol): AdminDecision;
  /** The same over snapshot pod indices: subject, peer, and the destination whose ports count (certain matches only). */
  decideIndexed(tier: AdminTier, direction: Direction, subject: number, peer: number, destPorts: readonly ContainerPort[], port: number | undefined, protocol: Protocol): AdminRuleRef['action'] | undefined;
  /** Whether any policy of the tier has rules of `direction` for the snapshot pod (cheap pre-check). */
  appliesTo(tier: AdminTier, direction: Direction, subject: number): boolean;
}

/** Which of the two tiers a policy sits in (ClusterNetworkPolicy by spec.tier; v1alpha1 by kind). */
export function adminTierOf(policy: Pick<AdminPolicy, 'kind' | 'tier'>): AdminTier {
  if (policy.kind === 'ClusterNetworkPolicy') return policy.tier === 'Baseline' ? 'baseline' : 'admin';
  return policy.kind === 'AdminNetworkPolicy' ? 'admin' : 'baseline';
}

function subjectMatches(subject: AdminPolicySubject, pod: PodInfo, namespaceLabels: (ns: string) => Labels): boolean {
  if (subject.namespaces) return matchesSelector(subject.namespaces, namespaceLabels(pod.namespace));
  if (subject.pods) {
    return matchesSelector(subject.pods.namespaceSelector, namespaceLabels(pod.namespace)) && matchesSelector(subject.pods.podSelector, pod.labels);
  }
  return false;
}

/**
 * `networks` against a pod without a known address: a /0 holds the whole pod network of its family (the API:
 * 0.0.0.0/0 "will allow or deny all IPv4 pod-to-pod traffic as well"); so does a set holding every known pod
 * CIDR. A set disjoint from the known pod CIDRs holds no pod. Anything else depends on the pod's address.
 */
function networksMatchAddressless(networks: readonly ParsedCidr[], texts: readonly string[], pod: PodInfo, podNetwork: readonly ParsedCidr[] | undefined): PeerMatch {
  if (networks.some((c) => c.prefix === 0)) return YES;
  if (podNetwork) {
    if (podNetwork.every((p) => networks.some((c) => cidrCovers(c, p)))) return YES;
    if (!networks.some((c) => podNetwork.some((p) => cidrsOverlap(c, p)))) return NO;
  }
  return { match: 'depends', why: `the address of ${pod.namespace}/${pod.name} is in ${texts.join(', ')}, and the input gives no address for it (no status.podIP)` };
}

/** The in-cluster DNS records a domainNames entry may select (NPEP-133: pod records and headless Services). */
function mayNamePod(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const clusterSuffixes = ['pod.cluster.local', 'svc.cluster.local'];
  if (n.startsWith('*.')) {
    const suffix = n.slice(2);
    return clusterSuffixes.some((s) => s === suffix || s.endsWith(`.${suffix}`) || suffix.endsWith(`.${s}`));
  }
  return clusterSuffixes.some((s) => n.endsWith(`.${s}`));
}

function peerMatchesPod(peer: AdminPolicyPeer, pod: PodInfo, address: ParsedAddress | undefined, networks: ParsedCidr[] | undefined, namespaceLabels: (ns: string) => Labels, podNetwork: readonly ParsedCidr[] | undefined): PeerMatch {
  if (peer.namespaces) return matchesSelector(peer.namespaces, namespaceLabels(pod.namespace)) ? YES : NO;
  if (peer.pods) {
    return matchesSelector(peer.pods.namespaceSelector, namespaceLabels(pod.namespace)) && matchesSelector(peer.pods.podSelector, pod.labels) ? YES : NO;
  }
  if (networks) {
    if (address !== undefined) return networks.some((c) => cidrContains(c, address)) ? YES : NO;
    return networksMatchAddressless(networks, peer.networks ?? [], pod, podNetwork);
  }
  if (peer.domainNames) {
    const names = peer.domainNames.filter(mayNamePod);
    return names.length === 0 ? NO : { match: 'depends', why: `${pod.namespace}/${pod.name} answers to ${names.join(', ')} in cluster DNS` };
  }
  return NO; // nodes: no pod is a node here
}

function sameAddress(a: ParsedAddress, b: ParsedAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

export function describeAdminRule(policy: AdminPolicy, direction: Direction, index: number, rule: AdminPolicyRule): string {
  const rank =
    policy.kind === 'ClusterNetworkPolicy'
      ? ` (tier ${policy.tier ?? 'Admin'}, priority ${policy.priority ?? 0})`
      : policy.kind === 'AdminNetworkPolicy'
        ? ` (priority ${policy.priority ?? 0})`
        : '';
  const name = rule.name ? ` '${rule.name}'` : '';
  return `${policy.kind} ${policy.name}${rank} ${direction}[${index}]${name}: ${rule.action}`;
}

/**
 * Both API versions at once (an upgrade from v1alpha1 ANP/BANP to v1alpha2 ClusterNetworkPolicy): the API text is
 * silent on how they order, so netcheck says what it chose wherever one of them decides.
 */
const MIXED_VERSIONS_NOTE =
  'v1alpha1 AdminNetworkPolicy/BaselineAdminNetworkPolicy and v1alpha2 ClusterNetworkPolicy both exist, and the API does not say how they order: netcheck orders each tier by priority across both (ClusterNetworkPolicy first at equal priority) and the BaselineAdminNetworkPolicy after every Baseline-tier ClusterNetworkPolicy';

function ruleRef(policy: AdminPolicy, direction: Direction, r: CompiledAdminRule, mixed: boolean): AdminRuleRef {
  const ref: AdminRuleRef = {
    kind: policy.kind,
    policy: policy.name,
    direction,
    ruleIndex: r.index,
    action: r.rule.action,
    text: describeAdminRule(policy, direction, r.index, r.rule),
  };
  if (policy.priority !== undefined) ref.priority = policy.priority;
  if (policy.tier !== undefined) ref.tier = policy.tier;
  if (r.rule.name) ref.ruleName = r.rule.name;
  if (mixed) ref.orderNote = MIXED_VERSIONS_NOTE;
  return ref;
}

/** Every node's spec.podCIDRs, when every node gives them (else the pod network is not known). */
function podNetworkOf(nodes: readonly NodeInfo[] | undefined): ParsedCidr[] | undefined {
  if (!nodes || nodes.length === 0 || nodes.some((n) => !n.podCIDRs || n.podCIDRs.length === 0)) return undefined;
  const cidrs = nodes.flatMap((n) => (n.podCIDRs ?? []).map(parseCidr));
  return cidrs.every((c): c is ParsedCidr => c !== undefined) ? cidrs : undefined;
}

export function createAdminEvaluator(policies: readonly AdminPolicy[], ctx: AdminContext): AdminEvaluator {
  const { pods, podAddresses, namespaceLabels } = ctx;
  const podNetwork = podNetworkOf(ctx.nodes);
  const mixed = policies.some((p) => p.kind === 'ClusterNetworkPolicy') && policies.some((p) => p.kind !== 'ClusterNetworkPolicy');
  const nodeAddresses = (selector: AdminPolicyPeer['nodes']): ParsedAddress[] =>
    (ctx.nodes ?? [])
      .filter((node) => selector !== undefined && matchesSelector(selector, node.labels))
      .flatMap((node) => (node.addresses ?? []).map(parseAddress).filter((a): a is ParsedAddress => a !== undefined));
  const n = pods.length;
  const compileRules = (rules: readonly AdminPolicyRule[]): CompiledAdminRule[] =>
    rules.map((rule, index) => ({
      index,
      rule,
      peers: rule.peers.map((peer) => {
        const networks = peer.networks?.map(parseCidr).filter((c): c is ParsedCidr => c !== undefined);
        const nodes = peer.nodes !== undefined ? nodeAddresses(peer.nodes) : undefined;
        const members = new Uint8Array(n);
        pods.forEach((pod, i) => {
          if (peerMatchesPod(peer, pod, podAddresses[i], networks, namespaceLabels, podNetwork).match === 'yes') members[i] = 1;
        });
        return { peer, networks, nodes, members };
      }),
    }));
  const compiled: CompiledAdminPolicy[] = [...policies].sort(compareAdminPolicies).map((policy) => {
    const subjects = new Uint8Array(n);
    pods.forEach((pod, i) => {
      if (subjectMatches(policy.subject, pod, namespaceLabels)) subjects[i] = 1;
    });
    return { policy, subjects, ingress: compileRules(policy.ingress), egress: compileRules(policy.egress) };
  });
  const tiers: Record<AdminTier, CompiledAdminPolicy[]> = {
    admin: compiled.filter((c) => adminTierOf(c.policy) === 'admin'),
    // The v1alpha1 API allows one baseline (named default); should a manifest hold more, they are all consulted in name order.
    baseline: compiled.filter((c) => adminTierOf(c.policy) === 'baseline'),
  };

  const peerMatchesEndpoint = (cp: CompiledAdminPeer, e: Endpoint): PeerMatch => {
    if (e.kind === 'pod') {
      const address = e.pod.ip ? parseAddress(e.pod.ip) : undefined;
      return peerMatchesPod(cp.peer, e.pod, address, cp.networks, namespaceLabels, podNetwork);
    }
    if (cp.peer.domainNames) {
      return { match: 'depends', why: `${e.ip} is an address of ${cp.peer.domainNames.join(', ')} (domainNames match what DNS answers at run time, which netcheck does not see)` };
    }
    const address = parseAddress(e.ip);
    if (address === undefined) return NO;
    if (cp.nodes !== undefined) return cp.nodes.some((n) => sameAddress(n, address)) ? YES : NO;
    return cp.networks !== undefined && cp.networks.some((c) => cidrContains(c, address)) ? YES : NO;
  };

  const decideExplained: AdminEvaluator['decideExplained'] = (tier, direction, subject, peer, destPorts, port, protocol) => {
    const depends: AdminDependence[] = [];
    for (const c of tiers[tier]) {
      const rules = direction === 'ingress' ? c.ingress : c.egress;
      if (rules.length === 0 || !subjectMatches(c.policy.subject, subject, namespaceLabels)) continue;
      for (const r of rules) {
        if (!adminPortsMatch(r.rule.ports, destPorts, port, protocol)) continue;
        const matches = r.peers.map((cp) => peerMatchesEndpoint(cp, peer));
        if (matches.some((m) => m.match === 'yes')) return { ref: ruleRef(c.policy, direction, r, mixed), depends };
        const whys = matches.flatMap((m) => (m.match === 'depends' ? [m.why] : []));
        if (whys.length > 0) depends.push({ ref: ruleRef(c.policy, direction, r, mixed), why: whys.join(', or ') });
      }
    }
    return { ref: undefined, depends };
  };

  return {
    active: compiled.length > 0,
    decide: (...args) => decideExplained(...args).ref,
    decideExplained,
    decideIndexed(tier, direction, subject, peer, destPorts, port, protocol) {
      for (const c of tiers[tier]) {
        if (c.subjects[subject] !== 1) continue;
        for (const r of direction === 'ingress' ? c.ingress : c.egress) {
          if (r.peers.some((cp) => cp.members[peer] === 1) && adminPortsMatch(r.rule.ports, destPorts, port, protocol)) return r.rule.action;
        }
      }
      return undefined;
    },
    appliesTo(tier, direction, subject) {
      return tiers[tier].some((c) => c.subjects[subject] === 1 && (direction === 'ingress' ? c.ingress : c.egress).length > 0);
    },
  };
}

/**
 * The uncertain rules that would change a direction's verdict had they matched: a Deny where the flow is allowed,
 * an Allow/Accept where it is denied, a Pass (which hands the flow to other rules) either way. One sentence each.
 */
export function dependenceNotes(depends: readonly AdminDependence[], allowed: boolean): string[] {
  return depends
    .filter((d) => (d.ref.action === 'Deny' ? allowed : adminActionAllows(d.ref.action) ? !allowed : true))
    .map((d) => `${d.ref.text} applies if ${d.why}`);
}
