/**
 * Turning what a user typed ("ns/pod" or an IP) into flow endpoints (pure). An IP that belongs to a
 * Service (ClusterIP or LoadBalancer) is resolved the way kube-proxy does: traffic is DNATed to the
 * endpoint pods on the targetPort *before* the CNI applies policy, so policy is judged toward those pods.
 */
import { measureEditDistance } from '../model/edit-distance.js';
import { parseAddress } from './cidr.js';
import { podKey, type PolicyEngine } from './engine.js';
import { compareStrings } from './from-objects.js';
import { matchesSelector } from './selectors.js';
import type { PortQuery } from './ports.js';
import type { Endpoint, PodInfo, Protocol, ServiceInfo } from './types.js';

export type ResolvedEndpoint =
  | { kind: 'pod'; pod: PodInfo }
  | { kind: 'service'; ip: string; service: ServiceInfo; via: 'clusterIP' | 'loadBalancer' }
  | { kind: 'address'; ip: string }
  | { kind: 'unknown'; suggestions: string[] };

/** Up to `limit` pod keys closest to `text` (substring matches first, then by edit distance). */
export function suggestPods(engine: PolicyEngine, text: string, limit = 3): string[] {
  const keys = engine.snapshot.pods.map(podKey);
  const name = text.includes('/') ? text.slice(text.indexOf('/') + 1) : text;
  return keys
    .map((k) => ({ k, score: k.includes(name) && name.length > 0 ? 0 : 1, d: measureEditDistance(text, k) }))
    .sort((a, b) => a.score - b.score || a.d - b.d || compareStrings(a.k, b.k))
    .slice(0, limit)
    .map((x) => x.k);
}

export function resolveEndpoint(engine: PolicyEngine, text: string): ResolvedEndpoint {
  const trimmed = text.trim();
  if (parseAddress(trimmed)) {
    const pod = engine.snapshot.pods.find((p) => p.ip === trimmed);
    if (pod) return { kind: 'pod', pod };
    for (const service of engine.snapshot.services) {
      if (service.clusterIP === trimmed) return { kind: 'service', ip: trimmed, service, via: 'clusterIP' };
      if (service.loadBalancerIPs.includes(trimmed)) return { kind: 'service', ip: trimmed, service, via: 'loadBalancer' };
    }
    return { kind: 'address', ip: trimmed };
  }
  const slash = trimmed.indexOf('/');
  if (slash > 0) {
    const pod = engine.findPod(trimmed.slice(0, slash), trimmed.slice(slash + 1));
    if (pod) return { kind: 'pod', pod };
  }
  return { kind: 'unknown', suggestions: suggestPods(engine, trimmed) };
}

export interface ServiceHop {
  /** The endpoint pod and the port it is reached on after DNAT. */
  pod: PodInfo;
  targetPort: PortQuery;
}

/**
 * Where kube-proxy sends `port`/`protocol` on a Service: the service port matching it (by number, or by
 * name), and the ready endpoint pods (selector matches) with the targetPort. Empty when no port matches.
 */
export function serviceHops(engine: PolicyEngine, service: ServiceInfo, port: PortQuery, protocol: Protocol): ServiceHop[] {
  const sp = service.ports.find((p) => p.protocol === protocol && (typeof port === 'number' ? p.port === port : p.name === port));
  // Without a selector (or with an empty one) no pod is a selector-managed endpoint.
  if (!sp || !service.selector || Object.keys(service.selector).length === 0) return [];
  const selector = { matchLabels: { ...service.selector } };
  return engine.snapshot.pods
    .filter((p) => p.namespace === service.namespace && matchesSelector(selector, p.labels))
    .map((pod) => ({ pod, targetPort: sp.targetPort }));
}

export function toEndpoint(resolved: { kind: 'pod'; pod: PodInfo } | { kind: 'address'; ip: string }): Endpoint {
  return resolved.kind === 'pod' ? { kind: 'pod', pod: resolved.pod } : { kind: 'address', ip: resolved.ip };
}
