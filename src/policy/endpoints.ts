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
  /** `replicas`: the pods of the workload NS/NAME named, when that is how the pod was found (the first is judged). */
  | { kind: 'pod'; pod: PodInfo; replicas?: PodInfo[] }
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
    const namespace = trimmed.slice(0, slash);
    const name = trimmed.slice(slash + 1);
    const pod = engine.findPod(namespace, name);
    if (pod) return { kind: 'pod', pod };
    const replicas = workloadPods(engine, namespace, name);
    if (replicas[0]) return { kind: 'pod', pod: replicas[0], replicas };
  }
  return { kind: 'unknown', suggestions: suggestPods(engine, trimmed) };
}

/**
 * The live pods of workload `name` (a cluster names them after it: Deployment NAME-<hash>-<id>, DaemonSet, Job or
 * ReplicaSet NAME-<id>, StatefulSet NAME-<ordinal>), or the manifests' pod standing for `kind/name`. `name` may be
 * `kind/name` (deployment/web). Sorted by name, so the pod judged is the same from run to run.
 */
export function workloadPods(engine: PolicyEngine, namespace: string, name: string): PodInfo[] {
  const kindSlash = name.indexOf('/');
  const bare = kindSlash >= 0 ? name.slice(kindSlash + 1) : name;
  const escaped = bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const generated = new RegExp(`^${escaped}-(?:(?:[a-z0-9]{6,10}-)?[a-z0-9]{5}|\\d+)$`);
  return engine.snapshot.pods
    .filter((p) => p.namespace === namespace && (p.owner !== undefined ? p.owner === name || (kindSlash < 0 && p.owner.endsWith(`/${bare}`)) : generated.test(p.name)))
    .sort((a, b) => compareStrings(a.name, b.name));
}

/** "http 8080/TCP, metrics 9090/TCP, 5000/TCP": the ports a pod declares, for error messages. */
export function formatDeclaredPorts(pods: readonly PodInfo[]): string {
  const seen = new Set<string>();
  for (const pod of pods) for (const p of pod.ports) seen.add(`${p.name ? `${p.name} ` : ''}${p.containerPort}/${p.protocol}`);
  return [...seen].join(', ');
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
