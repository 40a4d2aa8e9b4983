/**
 * The financial-ml run on a real k3s (@testcontainers/k3s; k3s enforces NetworkPolicies with its embedded
 * controller). Needs a container runtime that answers a ping; elsewhere the suite skips with one line saying why.
 * Image: NETCHECK_K3S_IMAGE (default below). Runs the BUILT CLI: `npm test` builds first.
 *
 * What differs from the run on the kit's cluster (test/e2e/k3s-variant.ts does it, test/e2e/k3s-variant.test.ts checks it):
 * - k3s runs its own CoreDNS, so the manifests' kube-system Deployment and Service are not applied; the kube-system
 *   Namespace is, so it carries the hand-set `name: kube-system` label the baseline's DNS rule needs.
 * - No LoadBalancer address is ever probed. The runner source is dropped (the CI machine does not own
 *   192.168.1.x and must not send packets there), and in-cluster cells on the MetalLB addresses (mlflow-lb,
 *   minio-lb, inference-lb) are rewritten to the Services behind them: same endpoint pods and ports after
 *   kube-proxy's DNAT, so the same policy verdicts and known gaps. ServiceLB is disabled: nothing in the cluster
 *   answers for LB addresses, and LB Services stay pending.
 * - The rest of the matrix is kept: DNS over UDP/TCP, Service names, in-cluster Services, the default listener,
 *   the denies (kube-dns `metrics` included) and the known gaps that involve no runner.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { CellVerdict } from '../../src/model/verdict.js';
import { DEFAULT_PROBE_IMAGE } from '../../src/probe/pod-spec.js';
import { buildK3sScenario, selectK3sManifests, type LiveService } from './k3s-variant.js';

const K3S_IMAGE = process.env.NETCHECK_K3S_IMAGE ?? 'rancher/k3s:v1.31.4-k3s1';
const MAIN = 'dist/bin/main.js';
const MANIFESTS = resolve('scenarios/financial-ml/manifests');
const PING_TIMEOUT_MS = 2000;

type Ping = { ok: true; endpoint: string } | { ok: false; why: string };

/** GET /_ping: a socket file or a DOCKER_HOST alone does not mean a daemon answers behind it. */
function pingDocker(endpoint: string, send: (onResponse: (res: IncomingMessage) => void) => ClientRequest): Promise<Ping> {
  return new Promise((done) => {
    const req = send((res) => {
      res.resume();
      // Any HTTP answer means a daemon is there; a non-200 still says why testcontainers would fail.
      done(res.statusCode === 200 ? { ok: true, endpoint } : { ok: false, why: `${endpoint} answered HTTP ${res.statusCode}` });
    });
    req.setTimeout(PING_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${PING_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, why: `${endpoint}: ${err.code === 'ENOENT' ? 'absent' : (err.code ?? err.message)}` }));
    req.end();
  });
}

function pingSocket(socketPath: string): Promise<Ping> {
  return pingDocker(socketPath, (onResponse) => httpRequest({ socketPath, path: '/_ping', method: 'GET' }, onResponse));
}

/** Where testcontainers looks, in its order: DOCKER_HOST, then the rootful and rootless Docker sockets. */
async function findContainerRuntime(): Promise<Ping> {
  const host = process.env.DOCKER_HOST;
  if (host) {
    const url = new URL(host);
    switch (url.protocol) {
      case 'unix:':
        return pingSocket(url.pathname);
      case 'tcp:': {
        const tls = Boolean(process.env.DOCKER_TLS_VERIFY);
        const options = { host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)), path: '/_ping', method: 'GET' };
        // A liveness ping only (no credentials sent): the daemon's certificate is testcontainers' business.
        return pingDocker(host, (onResponse) => (tls ? httpsRequest({ ...options, rejectUnauthorized: false }, onResponse) : httpRequest(options, onResponse)));
      }
      default:
        // ssh://, npipe://: nothing to ping from here; let testcontainers try and fail loudly if it must.
        return { ok: true, endpoint: host };
    }
  }
  const sockets = ['/var/run/docker.sock', join(process.env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.() ?? 0}`, 'docker.sock'), join(homedir(), '.docker/run/docker.sock')];
  const misses: string[] = [];
  for (const socket of sockets) {
    const ping = await pingSocket(socket);
    if (ping.ok) return ping;
    misses.push(ping.why);
  }
  return { ok: false, why: `DOCKER_HOST unset; ${misses.join('; ')}` };
}

const runtime = await findContainerRuntime();
const title = runtime.ok
  ? `netcheck run financial-ml on k3s (${K3S_IMAGE}, runtime ${runtime.endpoint})`
  : `k3s e2e skipped: no container runtime answered (${runtime.why})`;

// The one line that says why: visible in any reporter.
if (!runtime.ok) console.info(title);

function exec(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => done({ code: null, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function readManifestObjects(dir: string): Array<Record<string, any>> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Record<string, any>))
    .filter((o) => o !== null);
}

describe.skipIf(!runtime.ok)(title, () => {
  let stopContainer: (() => Promise<unknown>) | undefined;
  let dir: string;
  let kubeconfig: string;
  let scenarioFile: string;
  const kubectl = (...args: string[]) => exec(['kubectl', '--kubeconfig', kubeconfig, ...args]);

  // k3s image pull and start (~60 s; testcontainers allows 120 s) + workload and probe image pulls + Deployments
  // becoming Available (240 s at most): 15 minutes leaves a slow CI runner room.
  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    const { K3sContainer } = await import('@testcontainers/k3s');
    // ServiceLB off: no node IP answers for the LoadBalancer Services (K3sContainer's default disables traefik).
    const container = await new K3sContainer(K3S_IMAGE).withCommand(['server', '--disable=traefik', '--disable=servicelb']).start();
    stopContainer = () => container.stop();
    dir = mkdtempSync(join(tmpdir(), 'netcheck-k3s-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, container.getKubeConfig());

    const objects = readManifestObjects(MANIFESTS);
    const selected = selectK3sManifests(objects);
    // Pull the workload and probe images up front, in parallel, so neither `kubectl wait` nor the run's budget
    // pays for them one by one; a failed pull is left for the kubelet to retry (and report) later.
    const images = new Set<string>([DEFAULT_PROBE_IMAGE]);
    for (const o of selected) for (const c of o.spec?.template?.spec?.containers ?? []) images.add(c.image);
    const pulls = await Promise.all([...images].map(async (image) => ({ image, result: await container.exec(['crictl', 'pull', image]) })));
    const failedPulls = pulls.filter((p) => p.result.exitCode !== 0).map((p) => `${p.image}: ${p.result.output.trim()}`);
    if (failedPulls.length > 0) console.info(`k3s pre-pull failed, the kubelet will retry: ${failedPulls.join('; ')}`);

    const applyFile = join(dir, 'manifests.yaml');
    writeFileSync(applyFile, selected.map((o) => stringify(o)).join('---\n'));
    const applied = await kubectl('apply', '-f', applyFile);
    expect(applied.code, applied.stderr).toBe(0);
    const label = await kubectl('get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.labels.name}');
    expect(label.stdout, 'kube-system carries the hand-set name label').toBe('kube-system');
    const ready = await kubectl('wait', '--for=condition=Available', 'deployment', '--all', '--all-namespaces', '--timeout=240s');
    expect(ready.code, ready.stderr).toBe(0);

    const services = await kubectl('get', 'services', '--all-namespaces', '-o', 'json');
    expect(services.code, services.stderr).toBe(0);
    const live: LiveService[] = (JSON.parse(services.stdout) as { items: Array<Record<string, any>> }).items.map((s) => ({
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      ports: (s.spec.ports ?? []).map((p: Record<string, any>) => ({ name: p.name, port: p.port })),
    }));
    const variant = buildK3sScenario(parse(readFileSync('scenarios/financial-ml/scenario.yaml', 'utf8')), objects, live, MANIFESTS);
    console.info(`k3s scenario: ${variant.notes.join('; ')}`);
    scenarioFile = join(dir, 'scenario.yaml');
    writeFileSync(scenarioFile, stringify(variant.scenario));
  }, 900_000);

  afterAll(async () => {
    await stopContainer?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes, known gaps aside, and leaves no pod behind', async () => {
    const json = join(dir, 'report.json');
    const run = await exec(['node', MAIN, 'run', scenarioFile, '--kubeconfig', kubeconfig, '--budget', '180s', '-o', `json=${json}`]);
    expect(existsSync(json), run.stderr).toBe(true);
    const cells = (JSON.parse(readFileSync(json, 'utf8')) as { cells: CellVerdict[] }).cells;
    expect(cells.filter((c) => !c.pass && c.classification !== 'known-gap')).toEqual([]);
    expect(cells.filter((c) => c.classification === 'known-gap').length).toBeGreaterThan(0);
    expect(run.code, run.stderr).toBe(0);
    // Pods already being deleted (grace period 0) count as gone, as netcheckPodsLeft (built-cli.ts) counts them.
    const left = await kubectl('get', 'pods', '--all-namespaces', '-l', 'netcheck.io/run', '-o', 'json');
    const items = (JSON.parse(left.stdout) as { items: Array<Record<string, any>> }).items;
    expect(items.filter((p) => !p.metadata.deletionTimestamp).map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([]);
  }, 300_000);
});
