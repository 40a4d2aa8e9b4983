/**
 * NetworkPolicy ports: numbers, ranges (endPort) and names. Kubernetes rule: a named port is resolved
 * against the container ports of the *destination* pod (for ingress rules the policed pod, for egress rules
 * the peer), and a name the destination does not declare matches nothing.
 */
import type { AdminPolicyPort, ContainerPort, NetworkPolicyPort, Protocol } from './types.js';

/** The port a flow targets: a number, or a name to resolve against the destination's container ports. */
export type PortQuery = number | string;

/** Resolves a port name against the destination's container ports; numbers pass through. */
export function resolvePort(query: PortQuery, destPorts: readonly ContainerPort[] | undefined, protocol: Protocol): number | undefined {
  if (typeof query === 'number') return query;
  return destPorts?.find((p) => p.name === query && p.protocol === protocol)?.containerPort;
}

/**
 * Whether one entry of a rule's `ports` admits `port`/`protocol` toward a destination with `destPorts`
 * (undefined when the destination is not a pod, so named ports cannot resolve).
 */
export function policyPortMatches(
  pp: NetworkPolicyPort,
  destPorts: readonly ContainerPort[] | undefined,
  port: number | undefined,
  protocol: Protocol,
): boolean {
  if ((pp.protocol ?? 'TCP') !== protocol) return false;
  if (pp.port === undefined) return true; // protocol only: every port of it
  if (port === undefined) return false;
  if (typeof pp.port === 'number') return port >= pp.port && port <= (pp.endPort ?? pp.port);
  return resolvePort(pp.port, destPorts, protocol) === port;
}

/** Index of the first entry of `ports` admitting the flow; -1 if none; undefined when the rule has no ports (all). */
export function findMatchingPort(
  ports: readonly NetworkPolicyPort[] | undefined,
  destPorts: readonly ContainerPort[] | undefined,
  port: number | undefined,
  protocol: Protocol,
): number | undefined {
  // An absent or empty `ports` list means all ports (networking.k8s.io/v1 NetworkPolicyIngressRule.ports).
  if (ports === undefined || ports.length === 0) return undefined;
  return ports.findIndex((pp) => policyPortMatches(pp, destPorts, port, protocol));
}

/** "443/TCP", "30000-32767/TCP", "http/TCP", "all UDP ports". */
export function formatPolicyPort(pp: NetworkPolicyPort): string {
  const protocol = pp.protocol ?? 'TCP';
  if (pp.port === undefined) return `all ${protocol} ports`;
  if (pp.endPort !== undefined && pp.endPort !== pp.port) return `${pp.port}-${pp.endPort}/${protocol}`;
  return `${pp.port}/${protocol}`;
}

export function formatPort(port: number | string | undefined, protocol: Protocol): string {
  return `${port ?? '?'}/${protocol}`;
}

/**
 * Whether an AdminNetworkPolicy port entry admits `port`/`protocol` toward a destination with `destPorts`
 * (network-policy-api shared_types.go AdminNetworkPolicyPort). Ports are always the destination's: for an
 * ingress rule the subject pod's, for an egress rule the peer's. A named port matches a container port of
 * that name, number and protocol on the destination; an address (no container ports) has no named ports.
 */
export function adminPortMatches(
  ap: AdminPolicyPort,
  destPorts: readonly ContainerPort[] | undefined,
  port: number | undefined,
  protocol: Protocol,
): boolean {
  if (port === undefined) return false;
  if ('portNumber' in ap) return ap.portNumber.protocol === protocol && ap.portNumber.port === port;
  if ('portRange' in ap) return ap.portRange.protocol === protocol && port >= ap.portRange.start && port <= ap.portRange.end;
  return (destPorts ?? []).some((cp) => cp.name === ap.namedPort && cp.containerPort === port && cp.protocol === protocol);
}

/** An admin rule's ports: absent means the rule does not filter by port. */
export function adminPortsMatch(
  ports: readonly AdminPolicyPort[] | undefined,
  destPorts: readonly ContainerPort[] | undefined,
  port: number | undefined,
  protocol: Protocol,
): boolean {
  return ports === undefined || ports.some((ap) => adminPortMatches(ap, destPorts, port, protocol));
}

/** "TCP/80", "UDP/5000-5500", "named port http". */
export function formatAdminPort(ap: AdminPolicyPort): string {
  if ('portNumber' in ap) return `${ap.portNumber.protocol}/${ap.portNumber.port}`;
  if ('portRange' in ap) return `${ap.portRange.protocol}/${ap.portRange.start}-${ap.portRange.end}`;
  return `named port ${ap.namedPort}`;
}
