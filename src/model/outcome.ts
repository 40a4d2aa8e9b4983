/**
 * What a probe observed, and the agent's wire format. The agent (probes/agent.ts, bundled to one file at build) is
 * typed against these declarations, so the kinds it prints and the kinds netcheck accepts are the same lists.
 */

/**
 * Every outcome kind, as the agent prints it; `OutcomeKind` and `Outcome` derive from this list.
 * `refused` means the connection was rejected: by the destination (nothing listens on the port) or by the data
 * plane (a rejecting policy enforcer such as kube-router, OVN-Kubernetes or Antrea "Reject"; kube-proxy for a
 * Service without endpoints). A socket cannot tell these apart, so only the verdict, which knows whether the
 * target is served, reads it as blocked. `timeout`/`unreachable` mean blocked. A name that does not resolve is a
 * DNS outcome, never "blocked"; a lookup that is itself the check and is rejected at the DNS port is `refused`,
 * one that only resolves the name to connect to is `dns-rejected` (no DNS server answered: the enforcer or
 * kube-proxy rejected it, or nothing listens), and an answer with rcode REFUSED is `dns-refused` (a server answered).
 */
export const OUTCOME_KINDS = [
  'connected',
  'resolved',
  'refused',
  'timeout',
  'unreachable',
  'http',
  'dns-nxdomain',
  'dns-timeout',
  'dns-servfail',
  'dns-refused',
  'dns-rejected',
  'error',
] as const;

export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

/** What an outcome carries besides its kind; a kind not named here carries nothing. */
interface OutcomeDetails {
  resolved: { addresses: string[] };
  unreachable: { code?: string };
  http: { status: number };
  error: { message: string };
}

export type Outcome = {
  [K in OutcomeKind]: { kind: K } & (K extends keyof OutcomeDetails ? OutcomeDetails[K] : unknown);
}[OutcomeKind];

export function isOutcomeKind(value: unknown): value is OutcomeKind {
  return (OUTCOME_KINDS as readonly unknown[]).includes(value);
}

/**
 * What the agent can check; `AgentCheckKind` derives from this list. `resolv`: report the pod's parsed
 * /etc/resolv.conf (outcome `resolved` with its nameservers; `error` when there is none).
 */
export const AGENT_CHECK_KINDS = ['dns', 'tcp', 'http', 'udp', 'resolv'] as const;
export type AgentCheckKind = (typeof AGENT_CHECK_KINDS)[number];

/** /etc/resolv.conf as the agent read it (the DNS chain's first link). */
export interface ResolvConf {
  nameservers: string[];
  search: string[];
  ndots: number;
  /** The `options` words as written (ndots:5, timeout:2, ...). */
  options: string[];
}

export interface AgentCheck {
  id: string;
  kind: AgentCheckKind;
  /** Host name (resolved by the agent with the pod's search/ndots) or IP address. */
  target: string;
  port?: number;
  /** For kind 'dns': the transport of the query. */
  protocol?: 'TCP' | 'UDP';
  /** For kind 'dns': ask this nameserver (an IP) instead of resolv.conf's; search and ndots still apply. */
  server?: string;
  timeoutMs: number;
  http?: { path: string; expectStatus?: number };
  /** When the outcome disagrees with this (`agreesWithExpectation`), the agent retries (plan.retries times). */
  expect?: 'allow' | 'deny';
  /**
   * An IP address to try once, with the same kind and port, when resolving `target` fails (a dns-* outcome): the
   * Service's ClusterIP, so a check whose name does not resolve still learns whether the network path is open.
   */
  fallback?: string;
}

export interface AgentPlan {
  checks: AgentCheck[];
  retries: number;
  /**
   * Wait this long before the first attempt: a CNI programs policies for a new pod some time after it starts
   * (kube-router ~0.5–1 s), and until then the pod's traffic is not policed yet.
   */
  settleMs?: number;
}

/** Listener mode: the agent serves these ports until killed (a tiny TCP/HTTP responder; UDP echoes). */
export interface ListenerPlan {
  listen: Array<{ port: number; protocol: 'TCP' | 'UDP' }>;
}

export interface Attempt {
  outcome: Outcome;
  /** Milliseconds the attempt took. */
  ms: number;
  /** Address the target resolved to, when it was a name. */
  address?: string;
}

/** One line of agent stdout per check. */
export interface AgentCheckResult {
  id: string;
  outcome: Outcome;
  attempts: Attempt[];
  /** A `resolv` check's parsed file. */
  resolv?: ResolvConf;
  /** The one attempt against AgentCheck.fallback, when the name did not resolve. */
  fallback?: { target: string; outcome: Outcome; ms: number };
}

/**
 * Does this outcome alone say the traffic got through (the path is open)? `undefined` when it cannot: DNS
 * outcomes, errors, and `refused` — blocked when the target is known to be served (a listener, a Service with
 * known endpoints), otherwise either nothing listens or the data plane rejected it; src/run/verdict.ts decides
 * with what it knows about the target.
 */
export function isOpen(outcome: Outcome): boolean | undefined {
  if (outcome.kind === 'connected' || outcome.kind === 'http' || outcome.kind === 'resolved') return true;
  if (outcome.kind === 'timeout' || outcome.kind === 'unreachable') return false;
  return undefined;
}

/**
 * Does an attempt's outcome agree with what its check expects? The agent retries a check until it does (or its
 * retries run out). `refused` agrees with deny (a rejecting CNI enforced it), not with allow (a listener still
 * starting: retry); DNS outcomes and errors agree with neither.
 */
export function agreesWithExpectation(expect: NonNullable<AgentCheck['expect']>, outcome: Outcome): boolean {
  const open = isOpen(outcome);
  return expect === 'allow' ? open === true : open === false || outcome.kind === 'refused';
}

/**
 * An outcome in words, as every report and verdict reason spells it (`http:200`, `unreachable (EHOSTUNREACH)`).
 * Reports keep `resolved` short; verdict reasons name the addresses a lookup returned.
 */
export function describeOutcome(outcome: Outcome, options: { addresses?: boolean } = {}): string {
  switch (outcome.kind) {
    case 'http':
      return `http:${outcome.status}`;
    case 'unreachable':
      return outcome.code ? `unreachable (${outcome.code})` : 'unreachable';
    case 'resolved':
      return options.addresses && outcome.addresses.length > 0 ? `resolved ${outcome.addresses.join(',')}` : 'resolved';
    case 'error':
      return `error: ${outcome.message}`;
    default:
      return outcome.kind;
  }
}
