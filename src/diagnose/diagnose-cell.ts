/**
 * Why one cell failed, beyond its one-line reason: findings read off the snapshot and the engine's flows.
 * Pure: verdicts, snapshot and flows in, sentences out (most relevant first).
 */
import type { CellVerdict } from '../model/verdict.js';
import type { ClusterSnapshot, FlowVerdict, NetworkPolicy, NetworkPolicyPeer } from '../policy/types.js';

/** The Service behind a target and how many pods back it, as the snapshot shows. */
export interface ServiceBackends {
  namespace: string;
  name: string;
  /** Pods its selector matches. */
  selectedPods: number;
  /** Ready endpoints, when the snapshot knows them. */
  readyEndpoints?: number;
}

export interface CellContext {
  /** Namespace of the source pod (absent for the runner). */
  sourceNamespace?: string;
  /** Namespace of the destination pods (absent for external addresses). */
  destinationNamespace?: string;
  /** The Service behind a service / LoadBalancer / DNS target. */
  service?: ServiceBackends;
}

export function diagnoseCell(
  verdict: CellVerdict,
  snapshot: ClusterSnapshot,
  flows: readonly FlowVerdict[],
  context: CellContext = {},
): string[] {
  if (verdict.pass) return [];
  const findings: string[] = [];
  if (verdict.policy === 'deny' || verdict.classification === 'dns') {
    findings.push(...findMissingNamespaceLabels(snapshot, flows, context));
  }
  const missing = context.service ? describeMissingEndpoints(context.service) : undefined;
  if (missing !== undefined && verdict.expect === 'allow') {
    findings.push(`${missing}: connections to it cannot succeed whatever the policies say`);
  }
  return dedupe(findings);
}

/** "service NS/NAME has no ready endpoints (why)", when it has none; undefined when it has some or nobody knows. */
export function describeMissingEndpoints(service: ServiceBackends): string | undefined {
  if (service.selectedPods !== 0 && service.readyEndpoints !== 0) return undefined;
  const what = service.selectedPods === 0 ? 'its selector matches no pod' : 'none of its endpoints is ready';
  return `service ${service.namespace}/${service.name} has no ready endpoints (${what})`;
}

/**
 * The seeds select namespaces by a hand-set `name` label. When a policy that isolates one end selects the
 * other end's namespace by a label that namespace does not carry, that label is the gap.
 */
export function findMissingNamespaceLabels(
  snapshot: ClusterSnapshot,
  flows: readonly FlowVerdict[],
  context: CellContext,
): string[] {
  const findings: string[] = [];
  const policies = new Map(snapshot.policies.map((p) => [`${p.namespace}/${p.name}`, p]));
  for (const flow of flows) {
    const directions = [
      { d: flow.egress, other: context.destinationNamespace },
      { d: flow.ingress, other: context.sourceNamespace },
    ];
    for (const { d, other } of directions) {
      if (d.allowed || d.reason !== 'no-matching-rule' || other === undefined) continue;
      const namespace = snapshot.namespaces.find((n) => n.name === other);
      if (!namespace) continue;
      for (const policyName of d.isolatedBy) {
        const policy = policies.get(policyName);
        if (!policy) continue;
        for (const selector of namespaceSelectorsOf(policy, d.direction)) {
          for (const [key, value] of Object.entries(selector)) {
            if (value !== other || namespace.labels[key] === value) continue;
            const has = namespace.labels[key] === undefined ? `has no label ${key}` : `has ${key}=${namespace.labels[key]}`;
            findings.push(
              `namespace ${other} ${has}, but ${policyName} selects it by namespaceSelector ${key}=${value}` +
                ` — fix: kubectl label namespace ${other} ${key}=${value}`,
            );
          }
        }
      }
    }
  }
  return findings;
}

function namespaceSelectorsOf(policy: NetworkPolicy, direction: 'ingress' | 'egress'): Array<Record<string, string>> {
  const peers: NetworkPolicyPeer[] =
    direction === 'egress' ? (policy.egress ?? []).flatMap((r) => r.to ?? []) : (policy.ingress ?? []).flatMap((r) => r.from ?? []);
  return peers.flatMap((p) => (p.namespaceSelector?.matchLabels ? [p.namespaceSelector.matchLabels] : []));
}

function dedupe(lines: string[]): string[] {
  return [...new Set(lines)];
}
