/** Pod status bookkeeping shared by the kubelet and the readiness logic. */
import type { KubeObject } from './store.js';

/** RFC 3339 without fractions, as the API server writes timestamps. */
export function currentTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function readinessGatesMet(pod: KubeObject): boolean {
  return unmetGates(pod).length === 0;
}

/** spec.readinessGates whose condition is not True: such a pod is not Ready, hence not an endpoint. */
export function unmetGates(pod: KubeObject): string[] {
  const gates: Array<{ conditionType: string }> = pod.spec?.readinessGates ?? [];
  const conditions: Array<{ type: string; status: string }> = pod.status?.conditions ?? [];
  return gates.map((g) => g.conditionType).filter((t) => !conditions.some((c) => c.type === t && c.status === 'True'));
}

export function mergeConditions(existing: Array<Record<string, unknown>> | undefined, updates: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const out = [...(existing ?? [])];
  for (const u of updates) {
    const i = out.findIndex((c) => c.type === u.type);
    const entry: Record<string, unknown> = { ...u, lastProbeTime: null, lastTransitionTime: currentTimestamp() };
    if (i >= 0) {
      if (out[i]!.status === u.status) entry.lastTransitionTime = out[i]!.lastTransitionTime;
      out[i] = entry;
    } else out.push(entry);
  }
  return out;
}

export function signalNumber(signal: string): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return table[signal] ?? 0;
}
