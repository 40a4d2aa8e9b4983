/**
 * A lab run of 20 source pods × 50 targets, most of them denied, probe timeout 1 s, no retries.
 * Deny probes all time out concurrently, so wall time should stay near one pod lifetime, not 45 timeouts.
 * Prints {"bench":"lab-matrix","sources":20,"targets":50,"timeoutSeconds":1,"wallSeconds":W,"podsRunningSeconds":P,"ratio":W/(P+1)}
 * where P spans from the first probe pod running to the last one done.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster } from '../../src/cluster/client.js';
import { runScenario } from '../../src/run/run-scenario.js';
import type { ExpectedCell, Scenario, Source, Target } from '../../src/scenario/types.js';
import { startLab } from '../lab/lab.js';

const SOURCES = 20;
const SERVICES = 5;
const PORTS_PER_SERVICE = 10;
const TIMEOUT_MS = 1000;
const at = { file: 'test/bench/lab-matrix.bench.ts' };

function manifests(): string {
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-src', labels: { name: 'bench-src' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-dst', labels: { name: 'bench-dst' } } },
    {
      // Only the first port of each service admits bench-src: 45 of 50 targets are denied.
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'first-port-only', namespace: 'bench-dst' },
      spec: {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { name: 'bench-src' } } }], ports: [{ protocol: 'TCP', port: 8000 }] }],
      },
    },
  ];
  for (let s = 0; s < SERVICES; s++) {
    const ports = Array.from({ length: PORTS_PER_SERVICE }, (_, k) => 8000 + k);
    docs.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `svc-${s}`, namespace: 'bench-dst' },
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
      metadata: { name: `svc-${s}`, namespace: 'bench-dst' },
      spec: { selector: { app: `svc-${s}` }, ports: ports.map((p) => ({ name: `p${p}`, port: p, targetPort: p })) },
    });
  }
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

function scenario(): Scenario {
  const sources: Source[] = Array.from({ length: SOURCES }, (_, i) => ({
    kind: 'pod',
    name: `s${i}`,
    namespace: 'bench-src',
    labels: { probe: `s${i}` },
    location: at,
  }));
  const targets: Target[] = [];
  for (let s = 0; s < SERVICES; s++) {
    for (let k = 0; k < PORTS_PER_SERVICE; k++) {
      targets.push({ kind: 'service', name: `svc-${s}:${8000 + k}`, service: `svc-${s}`, namespace: 'bench-dst', port: 8000 + k, protocol: 'TCP', location: at });
    }
  }
  const cells: ExpectedCell[] = sources.flatMap((src) =>
    targets.map((t) => ({ source: src.name, target: t.name, expect: t.name.endsWith(':8000') ? ('allow' as const) : ('deny' as const), location: at })),
  );
  return { name: 'lab-matrix', file: at.file, manifests: [], defaults: { timeoutMs: TIMEOUT_MS, retries: 0 }, sources, targets, cells };
}

const dir = mkdtempSync(join(tmpdir(), 'netcheck-bench-'));
const file = join(dir, 'manifests.yaml');
writeFileSync(file, manifests());
const lab = await startLab({ manifests: [file] });
try {
  // Measure netcheck, not the lab's own start-up: let services, DNS and policies converge first.
  await lab.settle();
  const client = await connectCluster({ kubeconfig: lab.kubeconfigPath });
  let firstRunning: number | undefined;
  let lastDone: number | undefined;
  const started = performance.now();
  const run = await runScenario(scenario(), {
    client,
    budgetMs: 120_000,
    signal: new AbortController().signal,
    onProgress: (e) => {
      if (e.role !== 'probe') return;
      const t = performance.now();
      if (e.state === 'running') firstRunning = Math.min(firstRunning ?? t, t);
      if (e.state === 'done' || e.state === 'failed') lastDone = Math.max(lastDone ?? t, t);
    },
  });
  const wall = (performance.now() - started) / 1000;
  const running = firstRunning !== undefined && lastDone !== undefined ? (lastDone - firstRunning) / 1000 : 0;
  // A figure, not a test: cells that fail under this load (1,000 concurrent checks on a 2-core lab) are
  // reported alongside the timings rather than failing the bench; infrastructure failures do fail it.
  if (run.failures.length > 0) {
    process.stderr.write(`lab-matrix: ${run.failures.map((f) => f.message).join('; ')}\n`);
    process.exitCode = 1;
  }
  const round = (n: number) => Math.round(n * 100) / 100;
  console.log(
    JSON.stringify({
      bench: 'lab-matrix',
      sources: SOURCES,
      targets: SERVICES * PORTS_PER_SERVICE,
      timeoutSeconds: TIMEOUT_MS / 1000,
      wallSeconds: round(wall),
      podsRunningSeconds: round(running),
      ratio: round(wall / (running + 1)),
      failedCells: run.result.summary.failed,
      failedBy: Object.fromEntries(Object.entries(run.result.summary.byClassification).filter(([k, n]) => k !== 'pass' && n > 0)),
    }),
  );
} finally {
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
}
