/**
 * Contracts inside the local lab: the API server (test/lab/api/*) keeps Kubernetes objects and runs the
 * controllers; the data plane (test/lab/net/*) turns pods into real network namespaces and processes,
 * and services/policies into iptables. startLab() (test/lab/lab.ts) wires them together.
 */
import type { ClusterSnapshot } from '../../src/policy/types.js';

export interface Faults {
  /** CNI ignores all NetworkPolicies (Flannel). */
  cniIgnoresPolicies?: boolean;
  /**
   * Pods on these nodes are not policed (a Calico migration with Flannel still on them): neither their egress
   * nor their ingress is enforced. Pods on other nodes keep full enforcement, so a flow from such a node toward
   * a pod elsewhere still meets that pod's ingress rules.
   */
  cniIgnoresPoliciesOnNodes?: string[];
  /** Pods on this node lose all traffic. */
  brokenNode?: string;
  /** Packets to cluster DNS are dropped. */
  dnsDropped?: boolean;
  /** Services ("namespace/name") that get no endpoints. */
  servicesWithoutEndpoints?: string[];
  /** API requests answered 403: verb as in RBAC (get, list, watch, create, delete), resource like "pods" or "pods/log". */
  forbid?: Array<{ verb: string; resource: string; namespace?: string }>;
  /** Namespaces enforcing PodSecurity "restricted": non-compliant pods are rejected at create (403). */
  podSecurityRestricted?: string[];
  /** Images whose pull fails: pods stay Pending with ErrImagePull / ImagePullBackOff. */
  imagePullFailure?: string[];
  /** Every API request after this many fails at the TCP level (connection destroyed). */
  apiDownAfterRequests?: number;
  /** Watch streams are cut after this many events. */
  watchCutAfterEvents?: number;
  /** Extra delay before a pod starts running. */
  slowPodStartMs?: number;
}

/** A pod as the data plane needs it. */
export interface PodRunSpec {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  /** argv of the first container (command + args); `node` means the machine's node. */
  argv: string[];
  env: Record<string, string>;
  /** Workload pods the lab seeded get a responder on these ports instead of argv. */
  respondOn?: Array<{ port: number; protocol: 'TCP' | 'UDP' }>;
  /** kube-system DNS pod: the data plane runs dnsmasq in it. */
  role?: 'dns';
}

export interface PodRunHandle {
  ip: string;
  /** Resolves when the process exits (not for responders/dns until killed). */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export interface ServiceEndpoints {
  namespace: string;
  name: string;
  clusterIP?: string;
  loadBalancerIPs: string[];
  headless: boolean;
  ports: Array<{ port: number; protocol: 'TCP' | 'UDP' | 'SCTP'; endpoints: Array<{ ip: string; port: number }> }>;
}

/** What the data plane must converge to; sent whenever pods, namespaces, labels, policies, services or faults change. */
export interface DataPlaneState {
  snapshot: ClusterSnapshot;
  services: ServiceEndpoints[];
  faults: Faults;
}

export interface DataPlane {
  /** Create the fabric, the outside host and cluster DNS plumbing. */
  start(): Promise<void>;
  /** Create the pod's network namespace and start its process; stdout+stderr go to onLog. */
  runPod(spec: PodRunSpec, onLog: (chunk: Buffer) => void): Promise<PodRunHandle>;
  /** Kill the pod's process and remove its namespace. Idempotent. */
  removePod(uid: string): Promise<void>;
  /** Recompute DNS records, service DNAT and policy enforcement. Calls are serialized. */
  sync(state: DataPlaneState): Promise<void>;
  /** Network namespace name of the "outside host" (where the netcheck runner stands). */
  readonly outsideHost: string;
  /** ClusterIP of the kube-dns service, written into every pod's resolv.conf. */
  readonly dnsServiceIP: string;
  /**
   * Resolve `name` (A records) at the kube-dns Service IP as a node would (from the fabric), or reject.
   * Optional: the in-memory data plane has no DNS; startLab's readiness check uses it when present.
   */
  resolveClusterDns?(name: string): Promise<string[]>;
  /** Remove everything this data plane created. Idempotent. */
  stop(): Promise<void>;
}

export interface Lab {
  kubeconfigPath: string;
  server: string;
  outsideHost: string;
  /** Replace the fault set (merged with the current one); takes effect before it resolves. */
  setFaults(faults: Partial<Faults>): Promise<void>;
  /** Run a command inside the outside-host namespace (for runner-side checks). */
  outsideHostArgv(argv: string[]): string[];
  stop(): Promise<void>;
}

export interface LabOptions {
  /** Manifest files/directories to seed (Namespaces, workloads, Services, NetworkPolicies). */
  manifests?: string[];
  faults?: Faults;
  /** Node names; default ["lab-node-a", "lab-node-b"]. */
  nodes?: string[];
}
