/**
 * Builders for data-plane tests: snapshot pieces, a skip reason when the machine cannot run namespaces, and
 * a way to run the real probe agent inside any lab namespace (real packets, real outcomes).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AgentCheck, AgentCheckResult, Outcome } from '../../../src/model/outcome.js';
import type { ContainerPort, NamespaceInfo, NetworkPolicy, PodInfo } from '../../../src/policy/types.js';
import type { PodRunSpec, ServiceEndpoints } from '../types.js';
import { runCommand } from '../../cluster-kit/run-command.js';

export const AGENT_PATH = fileURLToPath(new URL('../../../dist/probes/agent.cjs', import.meta.url));

/** Why data-plane tests cannot run here, or undefined when they can. */
export function dataPlaneSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'lab data plane tests need Linux network namespaces';
  if (process.getuid?.() !== 0) return 'lab data plane tests need root (ip netns, iptables); CI runs them as root';
  for (const bin of ['/usr/sbin/dnsmasq', '/usr/sbin/iptables-restore']) {
    if (!existsSync(bin) && !existsSync(bin.replace('/usr/sbin', '/sbin'))) return `lab data plane tests need ${bin}`;
  }
  return undefined;
}

export function uniqueSuffix(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

export function namespace(name: string, labels: Record<string, string> = {}): NamespaceInfo {
  return { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } };
}

export function podInfo(spec: { namespace: string; name: string; labels?: Record<string, string>; ip: string; node: string; ports?: ContainerPort[] }): PodInfo {
  return { namespace: spec.namespace, name: spec.name, labels: spec.labels ?? {}, ip: spec.ip, node: spec.node, ports: spec.ports ?? [] };
}

export function policy(p: Omit<NetworkPolicy, 'podSelector'> & { podSelector?: NetworkPolicy['podSelector'] }): NetworkPolicy {
  return { podSelector: {}, ...p };
}

export function service(
  ns: string,
  name: string,
  spec: { clusterIP?: string; lb?: string[]; headless?: boolean; ports: Array<{ port: number; protocol?: 'TCP' | 'UDP'; endpoints: Array<{ ip: string; port: number }> }> },
): ServiceEndpoints {
  return {
    namespace: ns,
    name,
    ...(spec.clusterIP !== undefined ? { clusterIP: spec.clusterIP } : {}),
    loadBalancerIPs: spec.lb ?? [],
    headless: spec.headless ?? false,
    ports: spec.ports.map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP', endpoints: p.endpoints })),
  };
}

/** A pod whose process just stays up, so tests can run probes inside its namespace. */
export function sleeperSpec(ns: string, name: string, node: string): PodRunSpec {
  return { uid: `${ns}-${name}`, namespace: ns, name, node, argv: ['node', '-e', 'setInterval(() => {}, 1 << 30)'], env: {} };
}

export function responderSpec(ns: string, name: string, node: string, ports: Array<{ port: number; protocol: 'TCP' | 'UDP' }>): PodRunSpec {
  return { uid: `${ns}-${name}`, namespace: ns, name, node, argv: [], env: {}, respondOn: ports };
}

/** Short timeouts: a DROP costs one timeout, and every check of a plan runs concurrently. */
export const DENY_TIMEOUT_MS = 300;

type CheckInput = Omit<AgentCheck, 'timeoutMs'> & { timeoutMs?: number };

/** Runs the probe agent inside a lab namespace; returns each check's outcome by id. */
export async function probeIn(netns: string, checks: CheckInput[]): Promise<Record<string, Outcome>> {
  const plan = { retries: 0, checks: checks.map((c) => ({ timeoutMs: 1500, ...c })) };
  const { stdout } = await runCommand(['ip', 'netns', 'exec', netns, process.execPath, AGENT_PATH, 'run', JSON.stringify(plan)]);
  const outcomes: Record<string, Outcome> = {};
  for (const line of stdout.split('\n').filter(Boolean)) {
    const parsed = JSON.parse(line) as Partial<AgentCheckResult>;
    if (parsed.id !== undefined && parsed.outcome !== undefined) outcomes[parsed.id] = parsed.outcome;
  }
  return outcomes;
}

/** Outcome as a short string for table-driven expectations: "connected", "http:200", "resolved:10.96.0.1". */
export function describeOutcome(o: Outcome | undefined): string {
  if (o === undefined) return 'missing';
  switch (o.kind) {
    case 'http':
      return `http:${o.status}`;
    case 'resolved':
      return `resolved:${[...o.addresses].sort().join(',')}`;
    case 'unreachable':
    case 'connected':
    case 'refused':
    case 'timeout':
    case 'dns-nxdomain':
    case 'dns-timeout':
    case 'dns-servfail':
    case 'dns-refused':
    case 'dns-rejected':
      return o.kind;
    case 'error':
      return `error:${o.message}`;
  }
}
