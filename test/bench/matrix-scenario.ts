/**
 * The matrix bench's shape (cluster-matrix.bench.ts runs it on the real cluster): 20 source pods × 50 service
 * ports, only the first port of each service admitted, probe timeout 1 s, no retries; and how it measures
 * netcheck on it. Deny probes all time out concurrently, so wall time should stay near one
 * pod lifetime, not 45 timeouts: ratio = wall / (podsRunning + one timeout).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { runScenario } from '../../src/run/run-scenario.js';
import type { ExpectedCell, Scenario, Source, Target } from '../../src/scenario/types.js';

const SOURCES = 20;
const SERVICES = 5;
const PORTS_PER_SERVICE = 10;
const TIMEOUT_MS = 1000;
export const MATRIX_NAMESPACES = { sources: 'bench-src', targets: 'bench-dst' } as const;
/** The Services the scenario targets, `namespace/name:port` as kube-proxy names them in its rule comments. */
export const MATRIX_SERVICE_PORTS = Array.from({ length: SERVICES }, (_, s) => Array.from({ length: PORTS_PER_SERVICE }, (_, k) => `${MATRIX_NAMESPACES.targets}/svc-${s}:p${8000 + k}`)).flat();
const at = { file: 'test/bench/matrix-scenario.ts' };

function manifests(): string {
  const { sources: src, targets: dst } = MATRIX_NAMESPACES;
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: src, labels: { name: src } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: dst, labels: { name: dst } } },
    {
      // Only the first port of each service admits bench-src: 45 of 50 targets are denied.
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'first-port-only', namespace: dst },
      spec: {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: src } } }], ports: [{ protocol: 'TCP', port: 8000 }] }],
      },
    },
  ];
  for (let s = 0; s < SERVICES; s++) {
    const ports = Array.from({ length: PORTS_PER_SERVICE }, (_, k) => 8000 + k);
    docs.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `svc-${s}`, namespace: dst },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: `svc-${s}` } },
        template: {
          metadata: { labels: { app: `svc-${s}` } },
          spec: { containers: [{ name: 'app', image: 'bench', ports: ports.map((p) => ({ containerPort: p })) }] },
        },
      },
    });
    docs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${s}`, namespace: dst },
      spec: { selector: { app: `svc-${s}` }, ports: ports.map((p) => ({ name: `p${p}`, port: p, targetPort: p })) },
    });
  }
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

/** The manifests in a temporary file, for startLab/startCluster({ manifests: [file] }). */
export function writeMatrixManifests(): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-bench-'));
  const file = join(dir, 'manifests.yaml');
  writeFileSync(file, manifests());
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function scenario(): Scenario {
  const sources: Source[] = Array.from({ length: SOURCES }, (_, i) => ({
    kind: 'pod',
    name: `s${i}`,
    namespace: MATRIX_NAMESPACES.sources,
    labels: { probe: `s${i}` },
    location: at,
  }));
  const targets: Target[] = [];
  for (let s = 0; s < SERVICES; s++) {
    for (let k = 0; k < PORTS_PER_SERVICE; k++) {
      targets.push({ kind: 'service', name: `svc-${s}:${8000 + k}`, service: `svc-${s}`, namespace: MATRIX_NAMESPACES.targets, port: 8000 + k, protocol: 'TCP', location: at });
    }
  }
  const cells: ExpectedCell[] = sources.flatMap((src) =>
    targets.map((t) => ({ source: src.name, target: t.name, expect: t.name.endsWith(':8000') ? ('allow' as const) : ('deny' as const), location: at })),
  );
  return { name: 'matrix', file: at.file, manifests: [], defaults: { timeoutMs: TIMEOUT_MS, retries: 0 }, sources, targets, cells };
}

export interface MatrixFigures {
  sources: number;
  targets: number;
  timeoutSeconds: number;
  wallSeconds: number;
  /** From the first probe pod running to the last one done. */
  podsRunningSeconds: number;
  ratio: number;
  failedCells: number;
  failedBy: Record<string, number>;
}

export interface MatrixMeasurement {
  figures: MatrixFigures;
  /** Infrastructure failures (pods that could not run, budget exceeded): they fail the bench. */
  failures: string[];
  probePods: number;
  /** Seconds from the start of the run to each step the run reached, to tell where the wall time goes. */
  phases: Record<string, number>;
  /** Observed outcome kinds of the failed cells, and the attempt time (ms) of the slowest, to tell why they failed. */
  failedOutcomes: Record<string, { cells: number; maxMs: number }>;
}

const round = (n: number) => Math.round(n * 100) / 100;

function countFailedOutcomes(cells: CellVerdict[]): MatrixMeasurement['failedOutcomes'] {
  const counts: MatrixMeasurement['failedOutcomes'] = {};
  for (const cell of cells.filter((c) => !c.pass)) {
    const entry = (counts[`${cell.expect}→${cell.outcome.kind}`] ??= { cells: 0, maxMs: 0 });
    entry.cells++;
    entry.maxMs = Math.max(entry.maxMs, ...cell.attempts.map((a) => a.ms));
  }
  return counts;
}

/** One runScenario of the matrix against `client`, timed from the call to its return (pod deletion included). */
export async function measureMatrix(client: ClusterClient, options: { image?: string } = {}): Promise<MatrixMeasurement> {
  const first: Partial<Record<'created' | 'running' | 'done', number>> = {};
  const last: Partial<Record<'created' | 'running' | 'done', number>> = {};
  let probes = 0;
  const started = performance.now();
  const run = await runScenario(scenario(), {
    client,
    budgetMs: 120_000,
    signal: new AbortController().signal,
    ...(options.image !== undefined ? { image: options.image } : {}),
    onPlan: (items) => (probes = items.filter((i) => i.role === 'probe').length),
    onProgress: (e) => {
      if (e.role !== 'probe') return;
      const t = performance.now();
      const step = e.state === 'failed' ? 'done' : e.state;
      first[step] = Math.min(first[step] ?? t, t);
      last[step] = Math.max(last[step] ?? t, t);
    },
  });
  const ended = performance.now();
  const wall = (ended - started) / 1000;
  const running = first.running !== undefined && last.done !== undefined ? (last.done - first.running) / 1000 : 0;
  const steps = { firstCreated: first.created, lastCreated: last.created, firstRunning: first.running, lastRunning: last.running, firstDone: first.done, lastDone: last.done, returned: ended };
  return {
    // A figure, not a test: cells that fail under this load (1,000 concurrent checks on 2 cores) are reported
    // alongside the timings rather than failing the bench; infrastructure failures do fail it.
    figures: {
      sources: SOURCES,
      targets: SERVICES * PORTS_PER_SERVICE,
      timeoutSeconds: TIMEOUT_MS / 1000,
      wallSeconds: round(wall),
      podsRunningSeconds: round(running),
      ratio: round(wall / (running + TIMEOUT_MS / 1000)),
      failedCells: run.result.summary.failed,
      failedBy: Object.fromEntries(Object.entries(run.result.summary.byClassification).filter(([k, n]) => k !== 'pass' && n > 0)),
    },
    failures: run.failures.map((f) => f.message),
    failedOutcomes: countFailedOutcomes(run.result.cells),
    probePods: probes,
    phases: Object.fromEntries(Object.entries(steps).flatMap(([step, t]) => (t === undefined ? [] : [[step, round((t - started) / 1000)]]))),
  };
}
