/**
 * The whole lab on the Linux data plane: seeded workloads run, a pod's `node` command really runs in its
 * namespace and its log is served, the outside host reaches a LoadBalancer, the CLI prints its lines and tears
 * down on SIGTERM, and nothing is left behind (network namespaces, /etc/netns, temp files).
 */
import * as k8s from '@kubernetes/client-node';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { RESOURCE } from './api/resources.js';
import { realLabUnavailable, startTestLab, waitFor } from './lab-fixture.js';
import type { LabDataPlane } from './net/data-plane.js';
import type { Faults } from './types.js';

const execFileAsync = promisify(execFile);
const skipReason = realLabUnavailable();
if (skipReason) console.log(`lab.test.ts skipped: ${skipReason}`);

const manifestsDir = mkdtempSync(join(tmpdir(), 'netcheck-lab-test-manifests-'));
afterAll(() => rmSync(manifestsDir, { recursive: true, force: true }));
writeFileSync(
  join(manifestsDir, 'shop.yaml'),
  `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations: {metallb.universe.tf/loadBalancerIPs: 192.168.1.240}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`,
);

function labNamespaces(suffix: string): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.includes(`-${suffix}-`));
}

function etcNetns(suffix: string): string[] {
  return existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.includes(`-${suffix}-`)) : [];
}

describe.skipIf(skipReason !== undefined)('the lab on the Linux data plane', () => {
  it('runs seeded workloads and a pod command; serves its log; tears down without leftovers', async () => {
    const lab = await startTestLab({ manifests: [manifestsDir] });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(lab.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);

    const web = await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=web' });
    expect(web.items).toHaveLength(2);
    expect(web.items.every((p) => p.status?.phase === 'Running' && /^10\.244\./.test(p.status.podIP ?? ''))).toBe(true);
    expect(web.items.every((p) => /^web-[a-z0-9]{10}-[a-z0-9]{5}$/.test(p.metadata!.name!))).toBe(true);

    const script = [
      "const net = require('net');",
      "const s = net.connect(80, 'web.shop.svc.cluster.local', () => { console.log('connected to web'); s.destroy(); });",
      "s.on('error', (e) => { console.log('error ' + e.code); process.exitCode = 1; });",
    ].join(' ');
    await core.createNamespacedPod({
      namespace: 'shop',
      body: { metadata: { name: 'client' }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'node:20-alpine', command: ['node', '-e', script] }] } },
    });
    const done = await waitFor('client pod finished', async () => {
      const p = await core.readNamespacedPod({ name: 'client', namespace: 'shop' });
      return ['Succeeded', 'Failed'].includes(p.status?.phase ?? '') ? p : undefined;
    }, 30_000);
    const log = await core.readNamespacedPodLog({ name: 'client', namespace: 'shop' });
    expect(log).toBe('connected to web\n');
    expect(done.status!.phase).toBe('Succeeded');

    const [command, ...args] = lab.outsideHostArgv([
      process.execPath,
      '-e',
      "const s=require('net').connect(80,'192.168.1.240',()=>{console.log('lb ok');s.destroy()});s.on('error',e=>console.log(e.code))",
    ]);
    const fromOutside = execFileSync(command!, args, { encoding: 'utf8', timeout: 10_000 });
    expect(fromOutside).toBe('lb ok\n');

    expect(labNamespaces(lab.suffix).length).toBeGreaterThan(0);
    await lab.stop();
    await lab.stop(); // idempotent
    expect(labNamespaces(lab.suffix)).toEqual([]);
    expect(etcNetns(lab.suffix)).toEqual([]);
    expect(existsSync(lab.kubeconfigPath)).toBe(false);
    await expect(fetch(`${lab.server}/version`)).rejects.toThrow();
  });

  it('the outside host reaches the API server at the kubeconfig URL (kubectl run there); stop() removes the forwarder', async () => {
    const lab = await startTestLab({ manifests: [manifestsDir] });
    const [command, ...args] = lab.outsideHostArgv(['kubectl', '--kubeconfig', lab.kubeconfigPath, 'get', 'ns', '-o', 'name']);
    // Asynchronously: the API server runs in this process and must keep serving.
    const { stdout: namespaces } = await execFileAsync(command!, args, { encoding: 'utf8', timeout: 20_000 });
    expect(namespaces.split('\n')).toContain('namespace/shop');
    const [c2, ...a2] = lab.outsideHostArgv(['kubectl', '--kubeconfig', lab.kubeconfigPath, 'get', 'deploy', '-A', '--no-headers']);
    const { stdout: deployments } = await execFileAsync(c2!, a2, { encoding: 'utf8', timeout: 20_000 });
    expect(deployments).toMatch(/^shop\s+web\s+2\/2\s/m);
    const forwarders = (): string[] =>
      execFileSync('ip', ['netns', 'pids', lab.outsideHost], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
    expect(forwarders().length).toBeGreaterThan(0);
    await lab.stop();
    expect(labNamespaces(lab.suffix)).toEqual([]);
  });

  it.each<[string, Faults]>([
    ['no faults', {}],
    ['dnsDropped (pods lose DNS; the fabric view does not)', { dnsDropped: true }],
    ['kube-dns without endpoints (no DNS to wait for)', { servicesWithoutEndpoints: ['kube-system/kube-dns'] }],
  ])('is ready when started (%s): endpoints programmed, and cluster DNS answering right away', async (_, faults) => {
    const lab = await startTestLab({ manifests: [manifestsDir], faults });
    const web = lab.store.find(RESOURCE.services, 'shop', 'web');
    const endpoints = lab.store.find(RESOURCE.endpoints, 'shop', 'web');
    expect(endpoints?.subsets?.[0]?.addresses).toHaveLength(2);
    if (faults.servicesWithoutEndpoints) {
      await expect(lab.dataPlane.resolveClusterDns!('web.shop.svc.cluster.local')).rejects.toThrow(/did not answer/);
      return;
    }
    // One query, no retry: the lab said ready, so DNS must already answer.
    expect(await lab.dataPlane.resolveClusterDns!('web.shop.svc.cluster.local')).toEqual([web!.spec.clusterIP]);
    if (faults.dnsDropped) return;
    const pod = lab.store.list(RESOURCE.pods).find((p) => p.metadata.namespace === 'shop')!;
    const netns = (lab.dataPlane as LabDataPlane).podNetns(pod.metadata.uid)!;
    const lookup = "require('dns').promises.lookup('web').then((a) => console.log(a.address), (e) => console.log(e.code))";
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', netns, process.execPath, '-e', lookup], { encoding: 'utf8', timeout: 10_000 });
    expect(stdout.trim()).toBe(web!.spec.clusterIP);
  });

  it('sweeps temp dirs of labs whose process is gone', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.on('exit', resolve));
    const stale = join(tmpdir(), `netcheck-labapi-${dead.pid}-stale00-x`);
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'kubeconfig'), '');
    await startTestLab({});
    expect(existsSync(stale)).toBe(false);
  });

  it('CLI: prints kubeconfig, outside-host, ready; SIGTERM tears down and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/lab/cli.ts', 'up', '--manifests', manifestsDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(`ready (stderr: ${err})`, () => (out.includes('ready\n') || child.exitCode !== null ? true : undefined), 60_000);
      const lines = out.trim().split('\n');
      expect(lines[0]).toMatch(/^kubeconfig: \/.+\/kubeconfig$/);
      expect(lines[1]).toMatch(/^outside-host: ncl-[A-Za-z0-9]+-out$/);
      expect(lines[2]).toBe('ready');
      const kubeconfig = lines[0]!.slice('kubeconfig: '.length);
      const suffix = /^outside-host: ncl-([A-Za-z0-9]+)-out$/.exec(lines[1]!)![1]!;
      const pods = execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-n', 'shop', '--no-headers'], { encoding: 'utf8' });
      expect(pods.trim().split('\n')).toHaveLength(2);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(labNamespaces(suffix)).toEqual([]);
      expect(existsSync(kubeconfig)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
