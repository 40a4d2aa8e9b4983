/**
 * Lab start time (API server + data plane + seeded workloads running) for the financial-ml manifests (or a
 * synthetic set when they are absent), and pod start-to-running latency for a `node` pod created over HTTP.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESOURCE } from '../lab/api/resources.js';
import { startLab } from '../lab/lab.js';

const SAMPLES = 10;

function syntheticManifests(): string {
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-bench-manifests-'));
  const docs: string[] = [];
  for (const ns of ['alpha', 'beta', 'gamma']) {
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: {name: ${ns}}}`);
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: app:1, ports: [{containerPort: 8080}]}]}`);
    docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: ${ns}}\nspec: {selector: {app: app}, ports: [{port: 80, targetPort: 8080}]}`);
  }
  writeFileSync(join(dir, 'synthetic.yaml'), docs.join('\n---\n'));
  return dir;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const financial = 'scenarios/financial-ml/manifests';
const synthetic = existsSync(financial) ? undefined : syntheticManifests();
const manifests = synthetic ?? financial;

const t0 = performance.now();
const lab = await startLab({ manifests: [manifests] });
const startSeconds = (performance.now() - t0) / 1000;
try {
  const pods = lab.store.list(RESOURCE.pods).length;
  console.log(JSON.stringify({ bench: 'lab-start', manifests: synthetic ? 'synthetic' : financial, pods, startSeconds: Number(startSeconds.toFixed(3)) }));

  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const name = `bench-${i}`;
    const running = new Promise<void>((resolve) => {
      const stop = lab.store.subscribe((e) => {
        if (e.resource.plural === 'pods' && e.object.metadata.name === name && e.object.status?.phase === 'Running') {
          stop();
          resolve();
        }
      });
    });
    const started = performance.now();
    const res = await fetch(`${lab.server}/api/v1/namespaces/default/pods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        metadata: { name },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'node:20-alpine', command: ['node', '-e', 'setTimeout(()=>{}, 30000)'] }] },
      }),
    });
    if (res.status !== 201) throw new Error(`create ${name}: HTTP ${res.status} ${await res.text()}`);
    await running;
    latencies.push((performance.now() - started) / 1000);
    await fetch(`${lab.server}/api/v1/namespaces/default/pods/${name}`, { method: 'DELETE' });
  }
  console.log(JSON.stringify({ bench: 'pod-start', samples: SAMPLES, medianSeconds: Number(median(latencies).toFixed(3)) }));
} finally {
  await lab.stop();
  if (synthetic) rmSync(synthetic, { recursive: true, force: true });
}
