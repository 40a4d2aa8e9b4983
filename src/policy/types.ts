/**
 * The policy engine's input: a plain-data view of a cluster (or of manifest files).
 * These are netcheck's own shapes, not @kubernetes/client-node's, so the engine stays pure
 * and is built from live clusters (src/cluster) and from YAML (src/policy/manifests.ts) alike.
 */
import type { Labels } from '../model/labels.js';

/** Defined once in src/model; exported here too, with the rest of this layer's shapes. */
export type { Labels };
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface IPBlock {
  cidr: string;
  except?: string[];
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  protocol?: Protocol;
  /** Number or named port (resolved against the destination pod's container ports). */
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicy {
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
  /** Where it was read from (file:line), when it came from a manifest. */
  source?: string;
}

/**
 * AdminNetworkPolicy / BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1, network-policy-api
 * v0.1: apis/v1alpha1/adminnetworkpolicy_types.go, baselineadminnetworkpolicy_types.go, shared_types.go) and
 * ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2, network-policy-api v0.3.0
 * apis/v1alpha2/clusternetworkpolicy_types.go; see cluster-network-policy.ts). Cluster-scoped. All share one shape
 * here; `kind` tells them apart, a ClusterNetworkPolicy carries its `tier`, and a BaselineAdminNetworkPolicy has no priority.
 */
export type AdminPolicyKind = 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'ClusterNetworkPolicy';
/**
 * v1alpha1: Allow/Deny/Pass (a baseline only Allow or Deny). v1alpha2 ClusterNetworkPolicy: Accept/Deny/Pass in
 * either tier (Accept is v1alpha1's Allow renamed).
 */
export type AdminAction = 'Allow' | 'Accept' | 'Deny' | 'Pass';
/** ClusterNetworkPolicy spec.tier. */
export type ClusterPolicyTier = 'Admin' | 'Baseline';

/** spec.subject (exactly one of the two) and the `pods` peer: namespaceSelector AND podSelector. */
export interface NamespacedPodSelector {
  namespaceSelector: LabelSelector;
  podSelector: LabelSelector;
}

export interface AdminPolicySubject {
  /** Every pod of the namespaces matching it. */
  namespaces?: LabelSelector;
  pods?: NamespacedPodSelector;
}

/** A rule peer: exactly one field set. `nodes` and `networks` exist for egress only. */
export interface AdminPolicyPeer {
  namespaces?: LabelSelector;
  pods?: NamespacedPodSelector;
  nodes?: LabelSelector;
  /** CIDRs; they match cluster-internal addresses (pod IPs) too, as the API says. */
  networks?: string[];
  /** ClusterNetworkPolicy egress only: DNS names (`*.` prefix wildcard); which addresses they stand for is not known statically. */
  domainNames?: string[];
}

/** Exactly one field of AdminNetworkPolicyPort. */
export type AdminPolicyPort =
  | { portNumber: { protocol: Protocol; port: number } }
  | { namedPort: string }
  | { portRange: { protocol: Protocol; start: number; end: number } };

export interface AdminPolicyRule {
  name?: string;
  action: AdminAction;
  /** `from` of an ingress rule, `to` of an egress rule (at least one). */
  peers: AdminPolicyPeer[];
  /** Absent: the rule does not filter by port. */
  ports?: AdminPolicyPort[];
}

export interface AdminPolicy {
  kind: AdminPolicyKind;
  name: string;
  /** AdminNetworkPolicy and ClusterNetworkPolicy: 0-1000, lower first within the tier. */
  priority?: number;
  /** ClusterNetworkPolicy only. */
  tier?: ClusterPolicyTier;
  subject: AdminPolicySubject;
  ingress: AdminPolicyRule[];
  egress: AdminPolicyRule[];
  source?: string;
}

/**
 * A Calico policy (projectcalico.org/v3 as written, or crd.projectcalico.org/v1 as the cluster stores it):
 * GlobalNetworkPolicy or NetworkPolicy of the default tier, evaluated by src/policy/calico-policy.ts.
 * Selectors stay as written (Calico syntax, parsed when read so a bad one is reported with its file:line).
 */
export interface OtherPolicy {
  kind: 'GlobalNetworkPolicy' | 'NetworkPolicy';
  apiVersion: string;
  /** The name as written in projectcalico.org/v3 (the tier prefix "default." of the stored name removed). */
  name: string;
  /** The name felix sorts equal orders by: "default.<name>", "<namespace>/default.<name>" for a NetworkPolicy. */
  sortName?: string;
  /** Absent for cluster-scoped kinds (GlobalNetworkPolicy). */
  namespace?: string;
  /** The selector expression as written (Calico selector syntax); '' selects all. */
  selector: string;
  /** GlobalNetworkPolicy spec.namespaceSelector (Calico syntax, on namespace labels), when set. */
  namespaceSelector?: string;
  /** spec.serviceAccountSelector (Calico syntax, on the pod's ServiceAccount labels), when set. */
  serviceAccountSelector?: string;
  /** Effective types: as written, else defaulted as the v3 client does (projectcalico.org/v3) or felix does (v1 CRD). */
  types?: Direction[];
  /** Calico `order` (lower first); undefined when not set (evaluated last). */
  order?: number;
  ingress?: CalicoRule[];
  egress?: CalicoRule[];
  /** doNotTrack / preDNAT: felix applies such a policy to host endpoints only, never to a pod. */
  hostEndpointOnly?: 'doNotTrack' | 'preDNAT';
  applyOnForward?: boolean;
  source?: string;
}

export type CalicoAction = 'Allow' | 'Deny' | 'Pass' | 'Log';

/** A port of a Calico entity rule: a number or range ("8000:8080"), or a named port. */
export type CalicoPort = { first: number; last: number } | { name: string };

/** Calico EntityRule (source or destination of a rule). Absent fields do not restrict. */
export interface CalicoEntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: CalicoPort[];
  notPorts?: CalicoPort[];
  serviceAccounts?: { names?: string[]; selector?: string };
  /** Kubernetes Service match: netcheck does not model it (the cell says so). */
  services?: { name: string; namespace?: string };
}

export interface CalicoRule {
  action: CalicoAction;
  /** IP protocol number (TCP 6, UDP 17, ICMP 1, ICMPv6 58, SCTP 132, UDPLite 136, or as written). */
  protocol?: number;
  notProtocol?: number;
  icmp?: { type?: number; code?: number };
  notICMP?: { type?: number; code?: number };
  ipVersion?: 4 | 6;
  source: CalicoEntityRule;
  destination: CalicoEntityRule;
  /** Application-layer match (needs Calico's application layer, not modelled; the cell says so). */
  http?: unknown;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
}

export interface NamespaceInfo {
  name: string;
  /** Includes kubernetes.io/metadata.name, as the API server sets it. */
  labels: Labels;
}

export interface PodInfo {
  namespace: string;
  name: string;
  labels: Labels;
  ip?: string;
  node?: string;
  ports: ContainerPort[];
  /** The workload this pod stands for (e.g. "deployment/mlflow"), when built from a template. */
  owner?: string;
  /** spec.serviceAccountName (Kubernetes defaults it to "default"). */
  serviceAccount?: string;
  /** The workload's spec.replicas (Deployment, StatefulSet, ReplicaSet, ReplicationController), for pod counts. */
  replicas?: number;
  source?: string;
}

export interface ServicePort {
  name?: string;
  port: number;
  /** Number or name of the endpoint pods' container port. Defaults to `port`. */
  targetPort: number | string;
  protocol: Protocol;
  nodePort?: number;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** Absent selector: endpoints are managed by hand. */
  selector?: Labels;
  clusterIP?: string;
  /** spec.loadBalancerIP, MetalLB's loadBalancerIPs annotation, or status.loadBalancer.ingress. */
  loadBalancerIPs: string[];
  ports: ServicePort[];
  source?: string;
  /**
   * Ready endpoint addresses (from EndpointSlices) when read from a live cluster; undefined when unknown
   * (manifest files, or endpointslices not readable). 0 means the service has no ready endpoints.
   */
  readyEndpoints?: number;
  /**
   * spec.externalTrafficPolicy of a LoadBalancer/NodePort Service (default Cluster). With Cluster, kube-proxy
   * masquerades traffic to the LoadBalancer IP — from pods too — to the node's address, so the endpoint pod's
   * ingress rules see a node, not the client.
   */
  externalTrafficPolicy?: 'Cluster' | 'Local';
}

export interface NodeInfo {
  name: string;
  labels: Labels;
  /** status.addresses InternalIP (and ExternalIP): what a masqueraded packet from this node carries. */
  addresses?: string[];
  /** spec.podCIDRs (or spec.podCIDR): the pod addresses the node allocates from, when the cluster assigns them. */
  podCIDRs?: string[];
  /** The Ready condition is True; undefined when unknown (manifest files). */
  ready?: boolean;
  /** spec.unschedulable (cordoned, e.g. drained during a CNI migration); undefined when unknown. */
  unschedulable?: boolean;
}

/** Everything the engine needs. `unknown` lists what could not be read (e.g. namespace-scoped RBAC). */
export interface ClusterSnapshot {
  namespaces: NamespaceInfo[];
  pods: PodInfo[];
  services: ServiceInfo[];
  policies: NetworkPolicy[];
  nodes: NodeInfo[];
  /** AdminNetworkPolicies and the BaselineAdminNetworkPolicy; absent = none. */
  adminPolicies?: AdminPolicy[];
  /** Policies netcheck cannot evaluate that may decide flows first (Calico); absent = none. */
  otherPolicies?: OtherPolicy[];
  unknown?: string[];
}

/** One end of a flow: a pod, or an address outside the pod network. */
export type Endpoint =
  | { kind: 'pod'; pod: PodInfo }
  | { kind: 'address'; ip: string };

export type Direction = 'ingress' | 'egress';

/** The rule that admitted a flow in one direction. */
export interface AdmittingRule {
  policy: string; // "namespace/name"
  direction: Direction;
  ruleIndex: number;
  /** Index into from/to; undefined when the rule has no peers (matches all). */
  peerIndex?: number;
  /** Index into ports; undefined when the rule has no ports (all ports). */
  portIndex?: number;
  /** One sentence, e.g. "financial-ml/financial-ml-isolation egress rule 2 (to namespaceSelector name=kube-system) port UDP/53". */
  text: string;
}

/** Why a direction did not admit — the reason code drives diagnosis and lint. */
export type DirectionReason =
  | 'not-isolated'       // no policy selects the pod for this direction: allowed
  | 'admitted'           // isolated, and a rule admitted the flow
  | 'no-matching-rule'   // isolated, and no rule admitted the flow
  | 'admin-policy'       // an AdminNetworkPolicy or the BaselineAdminNetworkPolicy decided (see decidedBy)
  | 'not-applicable'     // the endpoint is not a pod (an address): the cluster does not police it
  | 'from-own-node'      // ingress from the pod's own node (e.g. masqueraded by kube-proxy): NetworkPolicy always allows it
  | 'calico-policy'      // a Calico rule decided (Allow, Deny, or Pass to the namespace profile; see calicoRule)
  | 'calico-end-of-tier'; // Calico policies applied and no rule accepted or passed: felix drops at the end of the default tier

/** The (Baseline)AdminNetworkPolicy rule that decided a direction, or passed it on to NetworkPolicies. */
export interface AdminRuleRef {
  kind: AdminPolicyKind;
  policy: string;
  priority?: number;
  direction: Direction;
  ruleIndex: number;
  ruleName?: string;
  action: AdminAction;
  /** ClusterNetworkPolicy only. */
  tier?: ClusterPolicyTier;
  /** e.g. "AdminNetworkPolicy cluster-control (priority 20) ingress[0] 'allow-from-monitoring': Allow". */
  text: string;
  /** Present when v1alpha1 and v1alpha2 admin policies both exist: how netcheck ordered them (the API does not say). */
  orderNote?: string;
}

/** A policy netcheck does not evaluate that selects one end of a flow, so it may decide the flow first. */
export interface MayDecide {
  kind: string;
  name: string; // "namespace/name", or the name of a cluster-scoped policy
  order?: number;
  /** Which end it may select. */
  selects: 'source' | 'destination';
  /** e.g. "Calico GlobalNetworkPolicy deny-all (order 100) may select the source: it may decide this flow instead". */
  text: string;
}

export interface DirectionVerdict {
  direction: Direction;
  allowed: boolean;
  reason: DirectionReason;
  /** Policies that select the pod for this direction ("namespace/name"), sorted. */
  isolatedBy: string[];
  /** Present when reason is 'admitted'; all admitting rules, sorted. */
  admittedBy: AdmittingRule[];
  /**
   * Present when reason is 'no-matching-rule': rules that came close, each with what was missing,
   * e.g. "namespaceSelector name=kube-system: namespace kube-system has no label name".
   */
  nearMisses: string[];
  /** Present when reason is 'admin-policy': the rule whose action decided. */
  decidedBy?: AdminRuleRef;
  /** An AdminNetworkPolicy rule said Pass, so NetworkPolicies (or the baseline) decided. */
  passedBy?: AdminRuleRef;
  /** Present when reason is 'calico-policy': the Calico rule whose Allow, Deny or Pass decided. */
  calicoRule?: CalicoRuleRef;
  /** netcheck cannot decide this direction: which Calico policy or rule, and what is not modelled. */
  undecided?: { kind: string; name: string; text: string };
  /**
   * Admin-policy rules whose match depends on what the input does not give (a pod's address against a narrower
   * `networks` CIDR, a domain name) and whose action would change this direction's verdict; one sentence each.
   */
  dependsOn?: string[];
}

/** The Calico rule that decided a direction (see src/policy/calico-policy.ts). */
export interface CalicoRuleRef {
  kind: 'GlobalNetworkPolicy' | 'NetworkPolicy';
  /** "namespace/name", or the name of a GlobalNetworkPolicy. */
  policy: string;
  order?: number;
  direction: Direction;
  ruleIndex: number;
  action: CalicoAction;
  /** e.g. "Calico GlobalNetworkPolicy baseline (order 100) egress[1]: Deny". */
  text: string;
}

export interface FlowVerdict {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  /** The destination port actually evaluated (named ports resolved); undefined when a named port did not resolve. */
  port: number | undefined;
  protocol: Protocol;
  /** Plain-words summary of both directions. */
  summary: string;
  /** Calico policies whose rules netcheck cannot decide for this flow (each says what is not modelled); absent when none. */
  mayBeDecidedBy?: MayDecide[];
  /** Both directions' `dependsOn`: the verdict is not certain; absent when it is. */
  dependsOn?: string[];
}
