/**
 * The same financial-ml run on a real k3s (@testcontainers/k3s; k3s enforces NetworkPolicies with its
 * embedded controller). Needs a container runtime; elsewhere the suite skips with one line.
 * Image: NETCHECK_K3S_IMAGE (default below). The runner source is dropped: a CI machine has no MetalLB
 * addresses to reach, and netcheck must not send packets to addresses it does not own.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { CellVerdict } from '../../src/model/verdict.js';

const K3S_IMAGE = process.env.NETCHECK_K3S_IMAGE ?? 'rancher/k3s:v1.31.4-k3s1';

function findContainerRuntime(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (host) return host;
  for (const socket of ['/var/run/docker.sock', `${process.env.XDG_RUNTIME_DIR ?? '/nonexistent'}/podman/podman.sock`]) {
    if (existsSync(socket)) return socket;
  }
  return undefined;
}

const runtime = findContainerRuntime();
const title = runtime
  ? `netcheck run financial-ml on k3s (${K3S_IMAGE})`
  : 'k3s e2e skipped: no container runtime (no DOCKER_HOST, no /var/run/docker.sock)';

// The one line that says why: visible in any reporter.
if (!runtime) console.info(title);

function exec(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe.skipIf(!runtime)(title, () => {
  let stopContainer: (() => Promise<unknown>) | undefined;
  let dir: string;
  let kubeconfig: string;
  let scenarioFile: string;

  beforeAll(async () => {
    const { K3sContainer } = await import('@testcontainers/k3s');
    const container = await new K3sContainer(K3S_IMAGE).start();
    stopContainer = () => container.stop();
    dir = mkdtempSync(join(tmpdir(), 'netcheck-k3s-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, container.getKubeConfig());
    const manifests = resolve('scenarios/financial-ml/manifests');
    const applied = await exec(['kubectl', '--kubeconfig', kubeconfig, 'apply', '-f', manifests]);
    expect(applied.code, applied.stderr).toBe(0);
    const ready = await exec(['kubectl', '--kubeconfig', kubeconfig, 'wait', '--for=condition=Available', 'deployment', '--all', '--all-namespaces', '--timeout=240s']);
    expect(ready.code, ready.stderr).toBe(0);

    const doc = parse(readFileSync('scenarios/financial-ml/scenario.yaml', 'utf8')) as Record<string, any>;
    doc.manifests = [manifests];
    for (const [name, source] of Object.entries(doc.sources as Record<string, any>)) {
      if (source.runner) {
        delete doc.sources[name];
        delete doc.matrix[name];
        doc.known = (doc.known ?? []).filter((k: { from: string }) => k.from !== name);
      }
    }
    scenarioFile = join(dir, 'scenario.yaml');
    writeFileSync(scenarioFile, stringify(doc));
  }, 600_000);

  afterAll(async () => {
    await stopContainer?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes, known gaps aside, and leaves no pod behind', async () => {
    const json = join(dir, 'report.json');
    const run = await exec(['node', 'dist/src/cli/main.js', 'run', scenarioFile, '--kubeconfig', kubeconfig, '--budget', '180s', '-o', `json=${json}`]);
    const cells = (JSON.parse(readFileSync(json, 'utf8')) as { cells: CellVerdict[] }).cells;
    expect(cells.filter((c) => !c.pass && c.classification !== 'known-gap')).toEqual([]);
    expect(run.code).toBe(0);
    const left = await exec(['kubectl', '--kubeconfig', kubeconfig, 'get', 'pods', '-A', '-l', 'netcheck.io/run', '-o', 'name']);
    expect(left.stdout.trim()).toBe('');
  }, 300_000);
});
