/** Small builders for scenario and verdict data used by the run/diagnose/report tests. */
import type { Outcome } from '../../src/model/outcome.js';
import type { CellVerdict, RunResult } from '../../src/model/verdict.js';
import type { ClusterSnapshot, NetworkPolicy, PodInfo, ServiceInfo } from '../../src/policy/types.js';
import { summarizeCells } from '../../src/run/verdict.js';
import type { ExpectedCell, Scenario, Source, Target } from '../../src/scenario/types.js';

const at = { file: 'scenario.yaml', line: 1 };

export function podSource(name: string, namespace: string, extra: Partial<Extract<Source, { kind: 'pod' }>> = {}): Source {
  return { kind: 'pod', name, namespace, labels: {}, location: at, ...extra };
}

export function runnerSource(name = 'runner'): Source {
  return { kind: 'runner', name, location: at };
}

export const targets = {
  dns: (name: string, host = 'kubernetes.default', protocol: 'UDP' | 'TCP' = 'UDP'): Target => ({ kind: 'dns', name, host, protocol, location: at }),
  service: (name: string, service: string, namespace: string, port: number | string, http?: { path: string; expectStatus?: number }): Target => ({
    kind: 'service',
    name,
    service,
    namespace,
    port,
    protocol: 'TCP',
    ...(http ? { http } : {}),
    location: at,
  }),
  listener: (name: string, namespace: string, port: number, labels: Record<string, string> = { app: name }): Target => ({
    kind: 'listener',
    name,
    namespace,
    labels,
    port,
    protocol: 'TCP',
    location: at,
  }),
  address: (name: string, address: string, port: number, http?: { path: string; expectStatus?: number }): Target => ({
    kind: 'address',
    name,
    address,
    port,
    protocol: 'TCP',
    ...(http ? { http } : {}),
    location: at,
  }),
};

export function cell(source: string, target: string, expect: 'allow' | 'deny', known?: string): ExpectedCell {
  return { source, target, expect, ...(known ? { known } : {}), location: at };
}

export function scenario(sources: Source[], targetList: Target[], cells: ExpectedCell[]): Scenario {
  return { name: 'test', file: '/tmp/scenario.yaml', manifests: [], defaults: { timeoutMs: 1000, retries: 1 }, sources, targets: targetList, cells };
}

export function verdict(partial: Partial<CellVerdict> & { source: string; target: string }): CellVerdict {
  const outcome: Outcome = partial.outcome ?? { kind: 'connected' };
  return {
    expect: 'allow',
    policy: 'allow',
    outcome,
    attempts: [{ outcome, ms: 3 }],
    pass: true,
    classification: 'pass',
    reason: 'connected, as expected (allow)',
    ...partial,
  };
}

/** A run of `cells` with a fixed id, times and cluster (what the report tests render), and no findings unless given. */
export function runResult(cells: CellVerdict[], extra: Partial<RunResult> = {}): RunResult {
  return {
    runId: 'r1',
    scenario: 'financial-ml',
    startedAt: '2026-01-02T03:04:05.000Z',
    finishedAt: '2026-01-02T03:04:17.500Z',
    cluster: { server: 'https://127.0.0.1:6443', context: 'lab', nodes: ['node-a', 'node-b'], unknown: [] },
    cells,
    summary: summarizeCells(cells),
    findings: [],
    ...extra,
  };
}

export function pod(namespace: string, name: string, labels: Record<string, string>, extra: Partial<PodInfo> = {}): PodInfo {
  return { namespace, name, labels, ports: [], ...extra };
}

export function service(namespace: string, name: string, selector: Record<string, string>, port: number, extra: Partial<ServiceInfo> = {}): ServiceInfo {
  return {
    namespace,
    name,
    type: 'ClusterIP',
    selector,
    loadBalancerIPs: [],
    ports: [{ name: 'main', port, targetPort: port, protocol: 'TCP' }],
    ...extra,
  };
}

/** Namespace selector on a hand-set `name` label, as the seed platform does. */
export function byNameLabel(namespace: string): { namespaceSelector: { matchLabels: Record<string, string> } } {
  return { namespaceSelector: { matchLabels: { name: namespace } } };
}

/** The seeds' baseline: isolate both ways, admit seldon-system, and DNS to kube-system. */
export function baselinePolicy(namespace: string): NetworkPolicy {
  return {
    name: `${namespace}-baseline`,
    namespace,
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [byNameLabel('seldon-system'), byNameLabel(namespace)] }],
    egress: [
      { to: [byNameLabel('seldon-system'), byNameLabel(namespace)] },
      { to: [byNameLabel('kube-system')], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
    ],
  };
}

export function platformSnapshot(options: { kubeSystemLabeled?: boolean } = {}): ClusterSnapshot {
  const labeled = options.kubeSystemLabeled ?? true;
  const ns = (name: string, withName = true) => ({ name, labels: { 'kubernetes.io/metadata.name': name, ...(withName ? { name } : {}) } });
  return {
    namespaces: [ns('financial-ml'), ns('seldon-system'), ns('kube-system', labeled), ns('other')],
    pods: [
      pod('kube-system', 'coredns-1', { 'k8s-app': 'kube-dns' }, { ip: '10.0.0.10', ports: [{ containerPort: 53, protocol: 'UDP' }] }),
      pod('financial-ml', 'mlflow-1', { app: 'mlflow' }, { ip: '10.0.0.20', ports: [{ containerPort: 5000, protocol: 'TCP' }] }),
      pod('seldon-system', 'scheduler-1', { app: 'scheduler' }, { ip: '10.0.0.30', ports: [{ containerPort: 9005, protocol: 'TCP' }] }),
    ],
    services: [
      { ...service('kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, 53), ports: [{ name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' }] },
      service('financial-ml', 'mlflow', { app: 'mlflow' }, 5000, { type: 'LoadBalancer', loadBalancerIPs: ['192.168.1.208'] }),
      service('seldon-system', 'scheduler', { app: 'scheduler' }, 9005),
      service('financial-ml', 'empty', { app: 'nothing' }, 80, { readyEndpoints: 0 }),
    ],
    policies: [baselinePolicy('financial-ml')],
    nodes: [{ name: 'node-a', labels: {} }, { name: 'node-b', labels: {} }],
  };
}
