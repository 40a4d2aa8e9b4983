/** Small builders for snapshots in engine/lint tests. */
import { expect } from 'vitest';
import { podKey, type PolicyEngine } from '../../src/policy/engine.js';
import { NAMESPACE_NAME_LABEL } from '../../src/policy/from-objects.js';
import type {
  ClusterSnapshot,
  ContainerPort,
  Endpoint,
  NamespaceInfo,
  NetworkPolicy,
  PodInfo,
  Protocol,
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

/** The fast matrix (analyze) must agree with the explained evaluation (explain) on every pair of snapshot pods. */
export function expectMatrixAgrees(engine: PolicyEngine, port: number, protocol: Protocol = 'TCP'): void {
  const m = engine.computeMatrix(port, protocol);
  const n = m.pods.length;
  const wrong: string[] = [];
  m.pods.forEach((s, i) =>
    m.pods.forEach((d, j) => {
      const v = engine.evaluateFlow({ kind: 'pod', pod: s }, { kind: 'pod', pod: d }, port, protocol);
      if (v.allowed !== (m.allowed[i * n + j] === 1)) wrong.push(`${podKey(s)} -> ${podKey(d)}: explain ${v.allowed}`);
    }),
  );
  expect(wrong).toEqual([]);
}
