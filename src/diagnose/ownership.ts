/**
 * Who fixes what, by the platform documents' responsibility matrix (scenarios/financial-ml/README.md summarises
 * it): the platform team owns cluster-wide policies (DNS, kube-system), cross-namespace communication, the CNI and
 * nodes, namespace lifecycle and labels, and the default-deny baselines; the application team owns the policies
 * between its own pods inside its namespaces, and its own workloads. "DNS/Infrastructure: always platform team." Pure.
 */
import type { Owner } from '../model/owner.js';
import type { NetworkPolicy } from '../policy/types.js';

/** What a finding is about, as far as ownership goes. */
export type FaultArea =
  | 'dns' // CoreDNS, the kube-dns Service, egress to kube-system port 53
  | 'cni' // the policy enforcer, a node's data plane
  | 'namespace-labels' // labels the baseline policies select namespaces by
  | 'baseline-policy' // default deny, cluster-wide and kube-system policies
  | 'cross-namespace-policy'
  | 'application-policy' // rules between pods of one namespace
  | 'workload' // a Service without endpoints, a missing Deployment: the application is not running
  | 'rights' // RBAC for netcheck itself
  | 'probe-image'; // the image netcheck's probe pods run

export interface Responsibility {
  owner: Owner;
  /** Why, in the matrix's own words, e.g. "DNS and infrastructure are always the platform team's". */
  why: string;
}

const AREAS: Record<FaultArea, Responsibility> = {
  dns: { owner: 'platform team', why: 'DNS and infrastructure are always the platform team\u2019s' },
  cni: { owner: 'platform team', why: 'CNI configuration is infrastructure security' },
  'namespace-labels': { owner: 'platform team', why: 'namespace lifecycle and labels are the platform team\u2019s' },
  'baseline-policy': { owner: 'platform team', why: 'default-deny baselines and cluster-wide policies are the platform team\u2019s' },
  'cross-namespace-policy': { owner: 'platform team', why: 'cross-namespace communication is coordinated by the platform team' },
  'application-policy': { owner: 'application team', why: 'policies between pods of one namespace are application-specific' },
  workload: { owner: 'application team', why: 'the application\u2019s own workloads and Services' },
  rights: { owner: 'platform team', why: 'RBAC for cluster tools is granted by the platform team' },
  'probe-image': { owner: 'platform team', why: 'the image registry and pull secrets are infrastructure' },
};

export function responsibilityFor(area: FaultArea): Responsibility {
  return AREAS[area];
}

/** The area a NetworkPolicy belongs to, read off its shape: who owns a fix to it. */
export function policyArea(policy: NetworkPolicy): FaultArea {
  if (policy.namespace === 'kube-system') return 'baseline-policy';
  const rules = [...(policy.ingress ?? []).map((r) => r.from ?? []), ...(policy.egress ?? []).map((r) => r.to ?? [])];
  const selectsAllPods = Object.keys(policy.podSelector.matchLabels ?? {}).length === 0 && (policy.podSelector.matchExpressions ?? []).length === 0;
  // A policy over every pod of the namespace with no rule, or no rule of one of its types, is a default deny.
  if (selectsAllPods && rules.every((peers) => peers.length === 0) && rules.length === 0) return 'baseline-policy';
  const peers = rules.flat();
  if (peers.some((p) => p.ipBlock === undefined && p.namespaceSelector !== undefined)) {
    return peers.some((p) => isDnsPeer(p.namespaceSelector)) && peers.every((p) => p.namespaceSelector !== undefined && isDnsPeer(p.namespaceSelector))
      ? 'baseline-policy'
      : 'cross-namespace-policy';
  }
  return 'application-policy';
}

export function policyResponsibility(policy: NetworkPolicy): Responsibility {
  return responsibilityFor(policyArea(policy));
}

/**
 * The area of a blocked or leaking flow, by its two ends: the matrix assigns by what the traffic crosses, not by
 * who wrote the policy (one application policy can hold both a same-namespace rule and a DNS rule). DNS (port 53
 * to kube-system) is the platform's, a flow between namespaces is coordinated by the platform, a flow inside one
 * namespace is the application's. An end outside the cluster (undefined) is external access: the application
 * team states it, the platform approves it — the application team acts first.
 */
export function flowArea(flow: { sourceNamespace?: string; destinationNamespace?: string; port?: number }): FaultArea {
  const { sourceNamespace, destinationNamespace, port } = flow;
  if (destinationNamespace === 'kube-system' && port === 53) return 'dns';
  if (sourceNamespace === undefined || destinationNamespace === undefined) return 'application-policy';
  return sourceNamespace === destinationNamespace ? 'application-policy' : 'cross-namespace-policy';
}

function isDnsPeer(selector: NetworkPolicy['podSelector'] | undefined): boolean {
  const labels = selector?.matchLabels ?? {};
  return Object.values(labels).includes('kube-system');
}
