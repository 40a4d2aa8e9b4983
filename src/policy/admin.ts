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
 *   `networks` = CIDRs, which "cluster-internal traffic will be checked against ... as well", so they match pod
 *   IPs too; `nodes` (egress) selects nodes by label and matches their addresses (Node status InternalIP /
 *   ExternalIP, known from a live cluster), never a pod (host-networked pods are not modelled).
 *   From manifests, which hold no node addresses, it matches nothing.
 * - Ports are the destination's ("for the ingress traffic ... the pods selected for this policy"; for egress
 *   "destination ports"); absent `ports` = every port.
 * Equal priorities are undefined behaviour in the API; netcheck orders them by name so output is stable.
 */
import { cidrContains, parseAddress, parseCidr, type ParsedAddress, type ParsedCidr } from './cidr.js';
import { compareAdminPolicies } from './from-objects.js';
import { adminPortsMatch } from './ports.js';
import { matchesSelector } from './selectors.js';
import type {
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

interface CompiledAdminPeer {
  peer: AdminPolicyPeer;
  networks: ParsedCidr[] | undefined;
  /** Addresses of the nodes a `nodes` peer selects. */
  nodes: ParsedAddress[] | undefined;
  /** Membership of snapshot pods, by pod index. */
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
  /** The cluster's nodes, for `nodes` peers (their labels and addresses). */
  nodes?: readonly NodeInfo[];
  podAddresses: ReadonlyArray<ParsedAddress | undefined>;
  namespaceLabels(namespace: string): Labels;
}

export type AdminTier = 'admin' | 'baseline';

export interface AdminEvaluator {
  /** Whether any admin policy exists (the engine keeps its faster path otherwise). */
  readonly active: boolean;
  /** The first matching rule of the tier for a direction of `subject` (any pods, snapshot or not). */
  decide(tier: AdminTier, direction: Direction, subject: PodInfo, peer: Endpoint, destPorts: readonly ContainerPort[] | undefined, port: number | undefined, protocol: Protocol): AdminRuleRef | undefined;
  /** The same over snapshot pod indices: subject, peer, and the destination whose ports count. */
  decideIndexed(tier: AdminTier, direction: Direction, subject: number, peer: number, destPorts: readonly ContainerPort[], port: number | undefined, protocol: Protocol): AdminRuleRef['action'] | undefined;
  /** Whether any policy of the tier has rules of `direction` for the snapshot pod (cheap pre-check). */
  appliesTo(tier: AdminTier, direction: Direction, subject: number): boolean;
}

function subjectMatches(subject: AdminPolicySubject, pod: PodInfo, namespaceLabels: (ns: string) => Labels): boolean {
  if (subject.namespaces) return matchesSelector(subject.namespaces, namespaceLabels(pod.namespace));
  if (subject.pods) {
    return matchesSelector(subject.pods.namespaceSelector, namespaceLabels(pod.namespace)) && matchesSelector(subject.pods.podSelector, pod.labels);
  }
  return false;
}

function peerMatchesPod(peer: AdminPolicyPeer, pod: PodInfo, address: ParsedAddress | undefined, networks: ParsedCidr[] | undefined, namespaceLabels: (ns: string) => Labels): boolean {
  if (peer.namespaces) return matchesSelector(peer.namespaces, namespaceLabels(pod.namespace));
  if (peer.pods) {
    return matchesSelector(peer.pods.namespaceSelector, namespaceLabels(pod.namespace)) && matchesSelector(peer.pods.podSelector, pod.labels);
  }
  if (networks) return address !== undefined && networks.some((c) => cidrContains(c, address));
  return false; // nodes: no pod is a node here
}

function sameAddress(a: ParsedAddress, b: ParsedAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

export function describeAdminRule(policy: AdminPolicy, direction: Direction, index: number, rule: AdminPolicyRule): string {
  const priority = policy.kind === 'AdminNetworkPolicy' ? ` (priority ${policy.priority ?? 0})` : '';
  const name = rule.name ? ` '${rule.name}'` : '';
  return `${policy.kind} ${policy.name}${priority} ${direction}[${index}]${name}: ${rule.action}`;
}

function ruleRef(policy: AdminPolicy, direction: Direction, r: CompiledAdminRule): AdminRuleRef {
  const ref: AdminRuleRef = {
    kind: policy.kind,
    policy: policy.name,
    direction,
    ruleIndex: r.index,
    action: r.rule.action,
    text: describeAdminRule(policy, direction, r.index, r.rule),
  };
  if (policy.priority !== undefined) ref.priority = policy.priority;
  if (r.rule.name) ref.ruleName = r.rule.name;
  return ref;
}

export function createAdminEvaluator(policies: readonly AdminPolicy[], ctx: AdminContext): AdminEvaluator {
  const { pods, podAddresses, namespaceLabels } = ctx;
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
          if (peerMatchesPod(peer, pod, podAddresses[i], networks, namespaceLabels)) members[i] = 1;
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
    admin: compiled.filter((c) => c.policy.kind === 'AdminNetworkPolicy'),
    // The API allows one baseline (named default); should a manifest hold more, they are all consulted in name order.
    baseline: compiled.filter((c) => c.policy.kind === 'BaselineAdminNetworkPolicy'),
  };

  const peerMatchesEndpoint = (cp: CompiledAdminPeer, e: Endpoint): boolean => {
    if (e.kind === 'pod') {
      const address = e.pod.ip ? parseAddress(e.pod.ip) : undefined;
      return peerMatchesPod(cp.peer, e.pod, address, cp.networks, namespaceLabels);
    }
    const address = parseAddress(e.ip);
    if (address === undefined) return false;
    if (cp.nodes !== undefined) return cp.nodes.some((n) => sameAddress(n, address));
    return cp.networks !== undefined && cp.networks.some((c) => cidrContains(c, address));
  };

  return {
    active: compiled.length > 0,
    decide(tier, direction, subject, peer, destPorts, port, protocol) {
      for (const c of tiers[tier]) {
        const rules = direction === 'ingress' ? c.ingress : c.egress;
        if (rules.length === 0 || !subjectMatches(c.policy.subject, subject, namespaceLabels)) continue;
        for (const r of rules) {
          if (r.peers.some((cp) => peerMatchesEndpoint(cp, peer)) && adminPortsMatch(r.rule.ports, destPorts, port, protocol)) {
            return ruleRef(c.policy, direction, r);
          }
        }
      }
      return undefined;
    },
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
