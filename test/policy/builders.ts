/** Small builders for snapshots in engine/lint tests. */
import { NAMESPACE_NAME_LABEL } from '../../src/policy/from-objects.js';
import type {
  ClusterSnapshot,
  ContainerPort,
  Endpoint,
  NamespaceInfo,
  NetworkPolicy,
  PodInfo,
} from '../../src/policy/types.js';

export function ns(name: string, labels: Record<string, string> = {}): NamespaceInfo {
  return { name, labels: { ...labels, [NAMESPACE_NAME_LABEL]: name } };
}

export function pod(key: string, labels: Record<string, string> = {}, extra: { ip?: string; ports?: ContainerPort[] } = {}): PodInfo {
  const [namespace, name] = key.split('/') as [string, string];
  const p: PodInfo = { namespace, name, labels, ports: extra.ports ?? [{ containerPort: 80, protocol: 'TCP', name: 'http' }] };
  if (extra.ip) p.ip = extra.ip;
  return p;
}

export function policy(key: string, spec: Omit<NetworkPolicy, 'name' | 'namespace' | 'podSelector'> & { podSelector?: NetworkPolicy['podSelector'] }): NetworkPolicy {
  const [namespace, name] = key.split('/') as [string, string];
  return { name, namespace, podSelector: spec.podSelector ?? {}, ...spec };
}

export function snapshot(parts: { namespaces?: NamespaceInfo[]; pods?: PodInfo[]; policies?: NetworkPolicy[] }): ClusterSnapshot {
  const declared = new Map((parts.namespaces ?? []).map((n) => [n.name, n]));
  for (const p of [...(parts.pods ?? []), ...(parts.policies ?? [])]) {
    if (!declared.has(p.namespace)) declared.set(p.namespace, ns(p.namespace));
  }
  return { namespaces: [...declared.values()], pods: parts.pods ?? [], services: [], policies: parts.policies ?? [], nodes: [] };
}

export function at(p: PodInfo): Endpoint {
  return { kind: 'pod', pod: p };
}

export function address(ip: string): Endpoint {
  return { kind: 'address', ip };
}
