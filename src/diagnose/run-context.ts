/**
 * What the run-level diagnosis knows besides the cells: what each target stands for in the cluster, the
 * inventory the run read, and how the run was started (to say which command to run next). Pure data.
 */
import type { ClusterSnapshot } from '../policy/types.js';
import type { Scenario, Target } from '../scenario/types.js';

export type TargetKind = 'dns' | 'service' | 'listener' | 'address';

export interface TargetFacts {
  kind: TargetKind;
  /** The Service a service target names (and a dns target of the form svc.ns[.svc.cluster.local]). */
  service?: { namespace: string; name: string };
  /** Node a listener target was pinned to by the scenario (`node:`), when it was. */
  node?: string;
  /** Namespace of a listener target. */
  namespace?: string;
}

export interface RunContext {
  targets: Readonly<Record<string, TargetFacts>>;
  /** Namespace of each pod source (the runner has none). */
  sourceNamespaces: Readonly<Record<string, string>>;
  snapshot: Pick<ClusterSnapshot, 'namespaces' | 'services' | 'pods' | 'policies' | 'nodes' | 'unknown'>;
  /** Every namespace of the cluster was listed: a namespace not among them does not exist. */
  namespacesListed?: boolean;
  /** How to name the scenario on a command line (`financial-ml`, or the file's path). */
  scenarioArg: string;
  /** The run probed from every node (`--per-node`). */
  perNode: boolean;
  /** The image the probe pods ran. */
  image: string;
}

/** `svc.ns`, `svc.ns.svc` or `svc.ns.svc.cluster.local` → the Service; other names → undefined. */
export function serviceOfHost(host: string): { namespace: string; name: string } | undefined {
  const parts = host.replace(/\.$/, '').split('.');
  if (parts.length === 2 || (parts.length >= 3 && parts[2] === 'svc')) {
    const [name, namespace] = parts as [string, string];
    return { namespace, name };
  }
  return undefined;
}

/** What each of a scenario's targets stands for in this inventory, and where each pod source lives. */
export function buildRunContext(
  scenario: Pick<Scenario, 'targets' | 'sources'>,
  snapshot: RunContext['snapshot'],
  run: { scenarioArg: string; perNode: boolean; image: string; namespacesListed?: boolean },
): RunContext {
  const targets = Object.fromEntries(scenario.targets.map((t) => [t.name, targetFacts(t, snapshot)]));
  const sourceNamespaces = Object.fromEntries(scenario.sources.flatMap((s) => (s.kind === 'pod' ? [[s.name, s.namespace]] : [])));
  return { targets, sourceNamespaces, snapshot, ...run };
}

function targetFacts(t: Target, snapshot: RunContext['snapshot']): TargetFacts {
  switch (t.kind) {
    case 'service':
      return { kind: t.kind, service: { namespace: t.namespace, name: t.service }, namespace: t.namespace };
    case 'dns': {
      const service = serviceOfHost(t.host);
      return { kind: t.kind, ...(service ? { service, namespace: service.namespace } : {}) };
    }
    case 'listener':
      return { kind: t.kind, namespace: t.namespace, ...(t.node !== undefined ? { node: t.node } : {}) };
    case 'address': {
      // A LoadBalancer or ClusterIP address netcheck can map to its Service, or a pod's IP.
      const svc = snapshot.services.find((s) => s.clusterIP === t.address || s.loadBalancerIPs.includes(t.address));
      if (svc) return { kind: t.kind, service: { namespace: svc.namespace, name: svc.name }, namespace: svc.namespace };
      const pod = snapshot.pods.find((p) => p.ip === t.address);
      return { kind: t.kind, ...(pod ? { namespace: pod.namespace, ...(pod.node !== undefined ? { node: pod.node } : {}) } : {}) };
    }
  }
}

/** How a command line names the scenario: a packaged one (scenarios/NAME/scenario.yaml) by its name, others by file. */
export function scenarioArgument(scenario: Pick<Scenario, 'name' | 'file'>): string {
  const packaged = scenario.file.replaceAll('\\', '/').endsWith(`/scenarios/${scenario.name}/scenario.yaml`);
  return packaged ? scenario.name : scenario.file;
}
