/**
 * The DNS chain's data: the facts read from the API (src/cluster/dns-facts.ts), the lookups a probe made, and the
 * walked chain (src/diagnose/dns-chain.ts) that reports and the run result carry. Plain data.
 */
import type { Labels } from './labels.js';
import type { Outcome } from './outcome.js';
import type { Owner } from './owner.js';

/** Something the API refused to show: the chain says so and what to ask for, never guesses. */
export interface NotVisible {
  notVisible: string;
}

export type Visible<T> = T | NotVisible;

export function isNotVisible<T>(value: Visible<T>): value is NotVisible {
  return typeof value === 'object' && value !== null && 'notVisible' in value;
}

export interface DnsServiceFact {
  namespace: string;
  name: string;
  clusterIP?: string;
  /** Absent: endpoints are managed by hand. */
  selector?: Labels;
}

export interface DnsEndpointFact {
  ip: string;
  ready: boolean;
  node?: string;
  /** "namespace/name" of the pod behind it. */
  pod?: string;
}

export interface DnsPodFact {
  namespace: string;
  name: string;
  labels: Labels;
  ip?: string;
  node?: string;
  ready: boolean;
  phase: string;
}

export interface DnsDeploymentFact {
  namespace: string;
  name: string;
  replicas: number;
  readyReplicas: number;
  /** spec.selector.matchLabels. */
  selector: Labels;
}

/** What the API shows of the cluster's DNS (src/cluster/dns-facts.ts reads it). */
export interface DnsClusterFacts {
  /** Every Service of the DNS namespace (normally kube-system); the chain picks the nameserver's by ClusterIP. */
  services: Visible<DnsServiceFact[]>;
  /** Namespace the Services, pods and Deployments were read from. */
  namespace: string;
  /** EndpointSlice endpoints by Service name (kubernetes.io/service-name). */
  endpoints: Visible<Record<string, DnsEndpointFact[]>>;
  /** Every pod of the DNS namespace. */
  pods: Visible<DnsPodFact[]>;
  deployments: Visible<DnsDeploymentFact[]>;
}

/** One lookup the chain probe made. */
export interface DnsQuery {
  name: string;
  protocol: 'UDP' | 'TCP';
  /** The nameserver asked; `resolv` = the pod's own (resolv.conf). */
  server: string;
  via: 'resolv' | 'service' | 'pod';
  /** For `via: pod`: "namespace/name" and node of that CoreDNS pod. */
  pod?: string;
  podNode?: string;
  outcome: Outcome;
}

export type LinkId = 'resolv' | 'lookup' | 'service' | 'coredns' | 'direct' | 'policy';
export type LinkStatus = 'ok' | 'broken' | 'not-visible' | 'not-checked' | 'warning';

export interface DnsLink {
  id: LinkId;
  title: string;
  status: LinkStatus;
  /** What was seen, one line each. */
  evidence: string[];
}

export interface DnsVerdict {
  /** The broken link, or undefined when the chain is healthy (or nothing could be decided). */
  link?: LinkId;
  /** One sentence: what is broken and the evidence. */
  text: string;
  owner?: Owner;
  /** Why that owner (the responsibility matrix's words). */
  why?: string;
  next?: string;
  /** `healthy`: every lookup answered; `undecided`: lookups fail and the evidence names no link. */
  status: 'broken' | 'healthy' | 'undecided';
}

export interface DnsChain {
  /** Marks a run finding that comes from the chain (src/diagnose/diagnose-run.ts drops its generic DNS finding then). */
  kind: 'dns-chain';
  source: DnsChainSource;
  nameserver?: string;
  links: DnsLink[];
  verdict: DnsVerdict;
}


/** The pod whose resolution is in question: its namespace and labels (what policies select), and node. */
export interface DnsChainSource {
  namespace: string;
  labels: Labels;
  node?: string;
  /** The probe pod that ran the chain's lookups ("namespace/name"). */
  probe?: string;
  /** The scenario sources it stands for, e.g. "serving, training". */
  description?: string;
}
