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
}

export interface NodeInfo {
  name: string;
  labels: Labels;
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
  | 'not-applicable';    // the endpoint is not a pod (an address): the cluster does not police it

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
}
