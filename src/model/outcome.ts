/**
 * What a probe observed, and the agent's wire format. The agent (probes/agent.cjs) is plain
 * JavaScript; these types describe the JSON it reads and prints and must stay in step with it.
 */

/**
 * `refused` means the packet reached the destination (the path is open, nothing listened);
 * `timeout`/`unreachable` mean blocked. A name that does not resolve is a DNS outcome, never "blocked".
 */
export type Outcome =
  | { kind: 'connected' }
  | { kind: 'resolved'; addresses: string[] }
  | { kind: 'refused' }
  | { kind: 'timeout' }
  | { kind: 'unreachable'; code?: string }
  | { kind: 'http'; status: number }
  | { kind: 'dns-nxdomain' }
  | { kind: 'dns-timeout' }
  | { kind: 'dns-servfail' }
  | { kind: 'dns-refused' }
  | { kind: 'error'; message: string };

export type OutcomeKind = Outcome['kind'];

export type AgentCheckKind = 'dns' | 'tcp' | 'http' | 'udp';

export interface AgentCheck {
  id: string;
  kind: AgentCheckKind;
  /** Host name (resolved by the agent with the pod's search/ndots) or IP address. */
  target: string;
  port?: number;
  /** For kind 'dns': the transport of the query. */
  protocol?: 'TCP' | 'UDP';
  timeoutMs: number;
  http?: { path: string; expectStatus?: number };
  /** When the outcome disagrees with this, the agent retries (plan.retries times). */
  expect?: 'allow' | 'deny';
}

export interface AgentPlan {
  checks: AgentCheck[];
  retries: number;
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
}

/** Does this outcome mean the traffic got through (the path is open)? */
export function isOpen(outcome: Outcome): boolean | undefined {
  switch (outcome.kind) {
    case 'connected':
    case 'refused':
    case 'http':
    case 'resolved':
      return true;
    case 'timeout':
    case 'unreachable':
      return false;
    case 'dns-nxdomain':
    case 'dns-timeout':
    case 'dns-servfail':
    case 'dns-refused':
    case 'error':
      return undefined;
  }
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
    case 'connected':
    case 'refused':
    case 'timeout':
    case 'dns-nxdomain':
    case 'dns-timeout':
    case 'dns-servfail':
    case 'dns-refused':
      return outcome.kind;
  }
}
