/** The endpoints controller's core: which pods back a selector Service, on which resolved ports. */
import type { ServiceEndpoints } from '../types.js';
import type { KubeObject } from './store.js';

export interface ResolvedPort {
  name?: string;
  servicePort: number;
  port: number;
  protocol: string;
}

export interface EndpointGroup {
  ports: ResolvedPort[];
  ready: KubeObject[];
  notReady: KubeObject[];
}

/** targetPort by number, or by name against the pod's container ports (same protocol). */
export function resolveTargetPort(target: number | string, protocol: string, pod: KubeObject): number | undefined {
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** Ready pods behind each selector service, grouped by resolved target ports (as Endpoints subsets are). */
export function groupEndpoints(svc: KubeObject, pods: KubeObject[], withheld: string[]): EndpointGroup[] {
  const selector: Record<string, string> | undefined = svc.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return [];
  if (withheld.includes(`${svc.metadata.namespace}/${svc.metadata.name}`)) return [];
  const groups = new Map<string, EndpointGroup>();
  for (const pod of pods) {
    if (pod.metadata.namespace !== svc.metadata.namespace || !pod.status?.podIP) continue;
    if (pod.status.phase !== 'Running') continue;
    if (!Object.entries(selector).every(([k, v]) => pod.metadata.labels?.[k] === v)) continue;
    const ready = (pod.status.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
    const ports: ResolvedPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const target = resolveTargetPort(sp.targetPort ?? sp.port, sp.protocol ?? 'TCP', pod);
      if (target !== undefined) ports.push({ name: sp.name, servicePort: sp.port, port: target, protocol: sp.protocol ?? 'TCP' });
    }
    const key = JSON.stringify(ports);
    let group = groups.get(key);
    if (!group) {
      group = { ports, ready: [], notReady: [] };
      groups.set(key, group);
    }
    (ready ? group.ready : group.notReady).push(pod);
  }
  return [...groups.values()];
}

/**
 * Start-up readiness of selector Services: "namespace/name" of each whose Running pods (ready ones, and
 * not-ready ones no readiness gate holds back) are not all among the endpoints the data plane last synced.
 */
export function servicesNotProgrammed(services: KubeObject[], pods: KubeObject[], withheld: string[], synced: ServiceEndpoints[] | undefined): string[] {
  const missing: string[] = [];
  for (const svc of services) {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const expected = groupEndpoints(svc, pods, withheld)
      .filter((g) => g.ports.length > 0)
      .flatMap((g) => [...g.ready, ...g.notReady.filter((p) => (p.spec?.readinessGates ?? []).length === 0)])
      .map((p) => p.status.podIP as string);
    if (expected.length === 0) continue;
    const entry = synced?.find((s) => `${s.namespace}/${s.name}` === key);
    const programmed = new Set((entry?.ports ?? []).flatMap((p) => p.endpoints.map((e) => e.ip)));
    if (!expected.every((ip) => programmed.has(ip))) missing.push(key);
  }
  return missing;
}
