/**
 * The policy engine's input: a plain-data view of a cluster (or of manifest files).
 * These are netcheck's own shapes, not @kubernetes/client-node's, so the engine stays pure
 * and is built from live clusters (src/cluster) and from YAML (src/policy/manifests.ts) alike.
 */

export type Labels = Readonly<Record<string, string>>;
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
 * v0.1: apis/v1alpha1/adminnetworkpolicy_types.go, baselineadminnetworkpolicy_types.go, shared_types.go).
 * Cluster-scoped. Both share one shape here; `kind` tells them apart and a baseline has no priority.
 */
export type AdminPolicyKind = 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
/** Baseline rules only Allow or Deny; Pass belongs to AdminNetworkPolicy. */
export type AdminAction = 'Allow' | 'Deny' | 'Pass';

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
  /** AdminNetworkPolicy only: 0-1000, lower first. */
  priority?: number;
  subject: AdminPolicySubject;
  ingress: AdminPolicyRule[];
  egress: AdminPolicyRule[];
  source?: string;
}

/**
 * A policy netcheck does not evaluate but that may decide a flow before the Kubernetes NetworkPolicies do
 * (Calico's projectcalico.org/v3 and crd.projectcalico.org/v1 GlobalNetworkPolicy / NetworkPolicy).
 */
export interface OtherPolicy {
  kind: string;
  apiVersion: string;
  name: string;
  /** Absent for cluster-scoped kinds (GlobalNetworkPolicy). */
  namespace?: string;
  /** The selector expression as written (Calico selector syntax); '' selects all. */
  selector: string;
  /** GlobalNetworkPolicy spec.namespaceSelector (Calico syntax, on namespace labels), when set. */
  namespaceSelector?: string;
  /** spec.types when given; absent = either direction may be concerned. */
  types?: Direction[];
  /** Calico `order` (lower first); undefined when not set (evaluated last). */
  order?: number;
  source?: string;
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
  | 'from-own-node';     // ingress from the pod's own node (e.g. masqueraded by kube-proxy): NetworkPolicy always allows it

/** The (Baseline)AdminNetworkPolicy rule that decided a direction, or passed it on to NetworkPolicies. */
export interface AdminRuleRef {
  kind: AdminPolicyKind;
  policy: string;
  priority?: number;
  direction: Direction;
  ruleIndex: number;
  ruleName?: string;
  action: AdminAction;
  /** e.g. "AdminNetworkPolicy cluster-control (priority 20) ingress[0] 'allow-from-monitoring': Allow". */
  text: string;
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
  /** Policies netcheck does not evaluate (Calico) that may decide this flow instead; absent when none. */
  mayBeDecidedBy?: MayDecide[];
}
