/**
 * The cluster layer's plain-data shapes. src/run and src/probe see only these, never
 * @kubernetes/client-node classes, so the client library can change without touching them.
 */
import type { DnsClusterFacts } from '../model/dns-chain.js';
import type { Labels } from '../model/labels.js';
import type { ClusterSnapshot } from '../policy/types.js';

/** Defined once in src/model; exported here too, with the rest of this layer's shapes. */
export type { Labels };

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { fieldPath: string } };
}

export interface ContainerSpec {
  name: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }>;
  resources?: {
    requests?: { cpu?: string; memory?: string };
    limits?: { cpu?: string; memory?: string };
  };
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: 'RuntimeDefault' | 'Localhost' | 'Unconfined' };
  };
}

/**
 * An ephemeral container added to a running pod (`pods/ephemeralcontainers`): it shares the pod's network namespace,
 * so its traffic is the pod's own (its IP, labels, ServiceAccount, node, programmed policies). No ports, probes or
 * resources: the API forbids them on ephemeral containers.
 */
export type EphemeralContainerSpec = Omit<ContainerSpec, 'ports' | 'resources'>;

/** A Pod manifest as netcheck writes it (the subset of core/v1 Pod it uses). */
export interface PodManifest {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    restartPolicy: 'Never' | 'OnFailure' | 'Always';
    activeDeadlineSeconds?: number;
    terminationGracePeriodSeconds?: number;
    automountServiceAccountToken?: boolean;
    enableServiceLinks?: boolean;
    imagePullSecrets?: Array<{ name: string }>;
    readinessGates?: Array<{ conditionType: string }>;
    securityContext?: {
      runAsNonRoot?: boolean;
      runAsUser?: number;
      runAsGroup?: number;
      fsGroup?: number;
      seccompProfile?: { type: 'RuntimeDefault' | 'Localhost' | 'Unconfined' };
      sysctls?: Array<{ name: string; value: string }>;
    };
    containers: ContainerSpec[];
  };
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ContainerState {
  name: string;
  ready: boolean;
  running: boolean;
  /** status.containerStatuses[].state.waiting (e.g. ErrImagePull, ImagePullBackOff, CreateContainerConfigError). */
  waiting?: { reason: string; message?: string };
  terminated?: { exitCode: number; reason?: string; message?: string };
}

/** What netcheck needs to know about a live pod. */
export interface PodState {
  namespace: string;
  name: string;
  uid: string;
  labels: Labels;
  annotations: Record<string, string>;
  phase: PodPhase;
  /** status.reason, e.g. DeadlineExceeded, Evicted. */
  reason?: string;
  message?: string;
  podIP?: string;
  nodeName?: string;
  /** metadata.creationTimestamp (RFC 3339). */
  createdAt?: string;
  /** spec.activeDeadlineSeconds. */
  activeDeadlineSeconds?: number;
  deleting: boolean;
  /** The Ready condition is True. */
  ready: boolean;
  conditions: Array<{ type: string; status: string; reason?: string; message?: string }>;
  containers: ContainerState[];
  /** status.ephemeralContainerStatuses (absent from pods that never had one). */
  ephemeralContainers?: ContainerState[];
  /** metadata.ownerReferences' controller, e.g. { kind: 'ReplicaSet', name: 'web-7c9f' }. */
  controller?: { kind: string; name: string };
}

export interface PodEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  pod: PodState;
}

/** A core/v1 Event, flattened. */
export interface ClusterEvent {
  namespace: string;
  type: string; // Normal | Warning
  reason: string;
  message: string;
  objectKind: string;
  objectName: string;
  count: number;
  /** lastTimestamp, eventTime or creationTimestamp, whichever is set. */
  at?: string;
}

export type WorkloadKind = 'deployment' | 'statefulset' | 'daemonset' | 'replicaset' | 'job' | 'pod';

export interface InventoryOptions {
  /** Restrict to these namespaces (and read them one by one); default: the whole cluster. */
  namespaces?: string[];
  /**
   * Namespaces to read one by one, besides the context's, when the cluster-wide lists are forbidden (a Role-only
   * run): the scenario's and kube-system, so what is readable there is read and what is not is named.
   */
  alsoNamespaces?: string[];
  signal?: AbortSignal;
}

/**
 * `unknown` (always present here) names what could not be read and why; `resourceVersions` of the policies, by
 * "Kind:namespace/name" (namespace empty for cluster-scoped ones); `cni`: the CNIs recognised by their DaemonSets (absent when DaemonSets are not readable).
 */
export type Inventory = ClusterSnapshot & {
  unknown: string[];
  resourceVersions?: Record<string, string>;
  cni?: string[];
  /** What these rights could not see, each with the command for someone who can (absent: everything was readable). */
  notVisible?: NotVisible[];
  /** Every namespace of the cluster was listed, so a namespace not among them does not exist. */
  namespacesListed?: boolean;
  /** Namespaces asked for (InventoryOptions) that the API server says do not exist. */
  missingNamespaces?: string[];
};

/** One thing the inventory could not read with the run's rights. */
export interface NotVisible {
  /** e.g. "networkpolicies in kube-system, seldon-system", "namespace labels", "nodes". */
  what: string;
  /** e.g. "forbidden: list networkpolicies". */
  why: string;
  /** The command that shows it, for the platform team. */
  command: string;
  /** The API resource (pods, services, endpointslices, networkpolicies, namespaces, nodes, ...). */
  resource: string;
  /** The namespaces it concerns; absent for cluster-scoped resources. */
  namespaces?: string[];
}

export interface ClusterClient {
  /** API server URL. */
  readonly server: string;
  /** kubeconfig context name in use. */
  readonly context: string;
  /** The context's default namespace ("default" when unset). */
  readonly namespace: string;
  inventory(options?: InventoryOptions): Promise<Inventory>;
  /** Template labels of a workload (for `as: deployment/x`). */
  getWorkloadLabels(namespace: string, kind: WorkloadKind, name: string, signal?: AbortSignal): Promise<Labels>;
  createPod(manifest: PodManifest, signal?: AbortSignal): Promise<PodState>;
  getPod(namespace: string, name: string, signal?: AbortSignal): Promise<PodState | undefined>;
  /** Returns the names of the pods it asked to delete. */
  deletePods(namespace: string, labelSelector: string, signal?: AbortSignal): Promise<string[]>;
  /** Idempotent: a pod already gone is not an error. */
  deletePod(namespace: string, name: string, signal?: AbortSignal): Promise<void>;
  /** `namespace` undefined = all namespaces. */
  listPods(namespace: string | undefined, labelSelector: string, signal?: AbortSignal): Promise<PodState[]>;
  /**
   * Lists, then watches: onChange gets ADDED for every existing pod, then every change. Reconnects from
   * the last resourceVersion when a stream ends and relists on 410 Gone. Resolves when `signal` aborts;
   * rejects with a ClusterError when the API stays unreachable.
   */
  watchPods(
    namespace: string | undefined,
    labelSelector: string,
    signal: AbortSignal,
    onChange: (event: PodEvent) => void,
  ): Promise<void>;
  /** The log of the pod's (first) container, or of `container` (an ephemeral one, say). */
  readPodLog(namespace: string, name: string, signal?: AbortSignal, container?: string): Promise<string>;
  /**
   * Adds an ephemeral container to a running pod (`patch pods/ephemeralcontainers`, as `kubectl debug` does) and
   * returns the pod as the API server left it. A name the pod already has is a 422 Invalid ClusterError.
   */
  addEphemeralContainer(namespace: string, pod: string, container: EphemeralContainerSpec, signal?: AbortSignal): Promise<PodState>;
  /**
   * The Ready, not deleting pods a workload runs (`kind` deployment, statefulset, daemonset, replicaset, job or pod),
   * sorted by name; for a Deployment the pods of its ReplicaSets.
   */
  listWorkloadPods(namespace: string, kind: WorkloadKind, name: string, signal?: AbortSignal): Promise<PodState[]>;
  /**
   * Follow a running container's log (`follow=true`): `onText` gets each chunk as it arrives. Resolves when the
   * server ends the stream (the container stopped, or the API closed it); rejects with a ClusterError when the
   * server refuses, or with the signal's reason once aborted. Optional: without it, the log is read at the end.
   */
  followPodLog?(namespace: string, name: string, signal: AbortSignal, onText: (text: string) => void): Promise<void>;
  /** The API server's clock as of its last response (undefined before any, or when unknown). */
  serverNow?(): Date | undefined;
  listEvents(namespace: string, involvedObjectName: string, signal?: AbortSignal): Promise<ClusterEvent[]>;
  /** The DNS namespace's Services, EndpointSlices, pods and Deployments for the DNS chain; forbidden reads come back "not visible". */
  readDnsFacts(namespace?: string, signal?: AbortSignal): Promise<DnsClusterFacts>;
}
