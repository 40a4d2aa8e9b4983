/**
 * Shared by the conformance tests (policy-conformance, calico-policy-conformance): a fixture's workloads and Service
 * ports as scenario targets, the engine's offline verdict per cell (`netcheck analyze -o json` on the fixture plus the
 * live pods, for their IPs), the scenario that probes every cell, and the per-cell comparison with what the data
 * plane did.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Outcome } from '../../src/model/outcome.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import type { AnalysisCell } from '../../src/policy/analyze.js';
import { readManifests } from '../cluster-kit/manifests.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { MAIN } from './built-cli.js';

export type Verdict = 'allow' | 'deny';

export interface Deviation {
  source: string;
  target: string;
  engine: Verdict;
  observed: Verdict;
  reason: string;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: 'TCP' | 'UDP';
}

export interface Workload {
  namespace: string;
  name: string;
  node: string;
  ports: ContainerPort[];
}

interface ServicePort {
  name: string;
  port: number;
  targetPort?: number | string;
  protocol: 'TCP' | 'UDP';
}

/** One scenario target: a Service port, and where kube-proxy sends it (the workload and its container port). */
export interface ServiceTarget {
  name: string;
  service: string;
  namespace: string;
  /** As the scenario names it: the Service port's name, or its number. */
  port: number | string;
  protocol: 'TCP' | 'UDP';
  workload: Workload;
  containerPort: number;
}

/** The fixture's Deployments (one representative pod each) and its Services' ports, as scenario targets. */
export function readFixture(fixture: string): { workloads: Workload[]; targets: ServiceTarget[] } {
  const objects = readManifests([fixture]).map((m) => m.object);
  const workloads: Workload[] = objects
    .filter((o) => o.kind === 'Deployment')
    .map((o) => ({
      namespace: o.metadata.namespace,
      name: o.metadata.name,
      node: o.spec.template.spec.nodeName,
      ports: o.spec.template.spec.containers.flatMap((c: { ports?: ContainerPort[] }) => c.ports ?? []),
    }));
  const targets: ServiceTarget[] = objects
    .filter((o) => o.kind === 'Service')
    .flatMap((o) => {
      const workload = workloads.find((w) => w.namespace === o.metadata.namespace && w.name === o.spec.selector.app);
      if (workload === undefined) throw new Error(`fixture: Service ${o.metadata.name} selects no Deployment`);
      return (o.spec.ports as ServicePort[]).map((sp) => {
        const targetPort = sp.targetPort ?? sp.port;
        const containerPort =
          typeof targetPort === 'number' ? targetPort : workload.ports.find((p) => p.name === targetPort && p.protocol === sp.protocol)?.containerPort;
        if (containerPort === undefined) throw new Error(`fixture: Service ${o.metadata.name} targetPort ${targetPort} is not declared`);
        // Mixed on purpose: a Service port forwarding to a named targetPort is asked for by number, the others by name.
        const port = typeof sp.targetPort === 'string' ? sp.port : sp.name;
        return { name: `${o.metadata.name}-${sp.name}`, service: o.metadata.name, namespace: o.metadata.namespace, port, protocol: sp.protocol, workload, containerPort };
      });
    });
  return { workloads, targets };
}

/**
 * Did traffic get through? `undefined` for an outcome that tested nothing (DNS failure, agent error) or that
 * this enforcer never gives a denied flow (a `refused` from felix, which drops).
 */
export function observedVerdict(outcome: Outcome, denied: ReadonlyArray<Outcome['kind']>): Verdict | undefined {
  switch (outcome.kind) {
    case 'connected':
    case 'http':
      return 'allow';
    case 'refused':
    case 'timeout':
    case 'unreachable':
      return denied.includes(outcome.kind) ? 'deny' : undefined;
    default:
      return undefined;
  }
}

export function describeCell(cell: CellVerdict): string {
  const attempts = cell.attempts.map((a) => a.outcome.kind).join(',');
  return [
    `${cell.source} → ${cell.target}: engine ${cell.policy}, observed ${cell.outcome.kind} [${attempts}] on ${cell.node ?? '?'} (${cell.classification}: ${cell.reason})`,
    ...(cell.policyExplanation ?? []).map((line) => `    ${line}`),
  ].join('\n');
}

/** `netcheck analyze` is offline: it runs here, on files only. */
export async function analyzeOffline(manifests: string[]): Promise<AnalysisCell[]> {
  return (JSON.parse((await runCommand([process.execPath, MAIN, 'analyze', '--manifests', ...manifests, '-o', 'json'])).stdout) as { cells: AnalysisCell[] }).cells;
}

type LivePod = { metadata: { namespace: string; name: string; labels?: Record<string, string> }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string } };

/**
 * The workloads' live pods (one each, Running on its pinned node, with an IP), written as a List file the engine reads
 * beside the fixture: manifests alone carry no pod IP. Returns the file and each workload's pod ("namespace/name").
 */
export async function livePods(kubeconfig: string, workloads: readonly Workload[], dir: string): Promise<{ podsFile: string; podOf: Map<Workload, string> }> {
  const namespaces = [...new Set(workloads.map((w) => w.namespace))];
  const live = JSON.parse((await runCommand(['kubectl', '--kubeconfig', kubeconfig, 'get', 'pods', '-A', '-o', 'json'])).stdout) as { items: LivePod[] };
  const pods = live.items.filter((p) => namespaces.includes(p.metadata.namespace));
  const podOf = new Map<Workload, string>();
  for (const w of workloads) {
    const mine = pods.filter((p) => p.metadata.namespace === w.namespace && p.metadata.labels?.app === w.name);
    expect(mine.map((p) => `${w.namespace}/${w.name} ${p.status.phase} on ${p.spec.nodeName} ${p.status.podIP ? 'with IP' : 'no IP'}`)).toEqual([`${w.namespace}/${w.name} Running on ${w.node} with IP`]);
    podOf.set(w, `${w.namespace}/${mine[0]!.metadata.name}`);
  }
  const podsFile = join(dir, 'live-pods.json');
  writeFileSync(podsFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
  return { podsFile, podOf };
}

export interface Expected {
  source: Workload;
  target: ServiceTarget;
  engine: Verdict;
  cell: AnalysisCell;
}

export function findCell(cells: AnalysisCell[], from: string, to: string, t: ServiceTarget): AnalysisCell {
  const cell = cells.find((x) => x.from === from && x.to === to && x.port === t.containerPort && x.protocol === t.protocol);
  if (cell === undefined) throw new Error(`analyze has no cell ${from} → ${to} ${t.containerPort}/${t.protocol}`);
  return cell;
}

/** The engine's verdict for every (workload × Service port) cell, from the analysis with the live pods. */
export function expectedCells(cells: AnalysisCell[], workloads: readonly Workload[], targets: readonly ServiceTarget[], podOf: Map<Workload, string>): Expected[] {
  return workloads.flatMap((source) =>
    targets.map((target) => {
      const cell = findCell(cells, podOf.get(source)!, podOf.get(target.workload)!, target);
      return { source, target, engine: cell.allowed ? ('allow' as const) : ('deny' as const), cell };
    }),
  );
}

/** A scenario whose matrix is the engine's verdicts, probing each cell from a pod cloning the source workload's labels. */
export function conformanceScenario(name: string, workloads: readonly Workload[], targets: readonly ServiceTarget[], expected: readonly Expected[], known: Array<{ from: string; to: string; reason: string }>): object {
  return {
    apiVersion: 'netcheck.io/v1alpha1',
    kind: 'Scenario',
    metadata: { name, description: 'expect = netcheck analyze (the engine), offline' },
    // Retries go to attempts that disagree with the policies (a new probe pod not programmed yet); a steady
    // disagreement stays one.
    defaults: { timeout: '2s', retries: 3 },
    sources: Object.fromEntries(workloads.map((w) => [w.name, { namespace: w.namespace, as: `deployment/${w.name}` }])),
    targets: Object.fromEntries(targets.map((t) => [t.name, { service: t.service, namespace: t.namespace, port: t.port, protocol: t.protocol }])),
    matrix: Object.fromEntries(
      workloads.map((w) => {
        const row = expected.filter((e) => e.source === w);
        return [w.name, { allow: row.filter((e) => e.engine === 'allow').map((e) => e.target.name), deny: row.filter((e) => e.engine === 'deny').map((e) => e.target.name) }];
      }),
    ),
    known,
  };
}

/**
 * Per cell, explicitly: the engine inside the run agrees with the offline analysis, and the packets agree with the
 * engine (or deviate exactly as documented). Returns the disagreements, each with the engine's explanation.
 */
export function disagreements(expected: readonly Expected[], cells: readonly CellVerdict[], deviations: readonly Deviation[], denied: ReadonlyArray<Outcome['kind']>, enforcer: string): string[] {
  const out: string[] = [];
  for (const e of expected) {
    const cell = cells.find((x) => x.source === e.source.name && x.target === e.target.name);
    if (cell === undefined) {
      out.push(`${e.source.name} → ${e.target.name}: not in the report`);
      continue;
    }
    const observed = observedVerdict(cell.outcome, denied);
    const documented = deviations.find((d) => d.source === e.source.name && d.target === e.target.name);
    const wanted = documented?.observed ?? e.engine;
    if (cell.policy !== e.engine || observed !== wanted) {
      out.push(`${describeCell(cell)}\n    offline analyze: ${e.engine}${documented ? `; documented ${enforcer} deviation: observed ${documented.observed}` : ''}`);
    }
  }
  return out;
}
