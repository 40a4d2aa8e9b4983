/**
 * The real cluster itself, through its CLI as other tools use it: the lines it prints, real kubelets and pods as
 * kubectl sees them, the outside host's view of the network, and hygiene — the root network namespace and mount
 * table are unchanged afterwards, nothing is left after SIGTERM, and a cluster whose owner was killed with -9
 * (containerd shims and containers survive their parent) is swept at the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterSkipReason, CLUSTER_START_TIMEOUT_MS } from './cluster-fixture.js';
import { sweepStaleClusters } from './cluster.js';
import { processesInCgroup } from './processes.js';
import { kubeProxyUnsynced } from './readiness.js';
import { runCommand } from './run-command.js';

const skip = clusterSkipReason();
if (skip !== undefined) console.warn(`cluster-kit: skipped — ${skip}`);

const CLI = ['--import', 'tsx', 'test/cluster-kit/cli.ts'];

/** Root namespace and mount table, as a root-namespace checker would compare them (lifetimes and counters removed). */
async function rootState(): Promise<Record<string, string>> {
  const read = async (argv: string[]): Promise<string> => (await runCommand(argv)).stdout;
  return {
    addr: (await read(['ip', '-o', 'addr'])).replace(/(valid_lft|preferred_lft) \S+/g, '$1 _'),
    link: (await read(['ip', '-o', 'link'])).replace(/\\\s+link\/.*$/gm, ''),
    route: (await read(['ip', 'route', 'show', 'table', 'all'])).replace(/expires \S+/g, 'expires _'),
    iptables: (await read(['iptables-save'])).split('\n').filter((l) => !l.startsWith('#')).join('\n').replace(/\[\d+:\d+\]/g, ''),
    sysctl: ['ipv4/ip_forward', 'ipv4/conf/all/route_localnet', 'netfilter/nf_conntrack_max'].map((k) => `${k}=${existsSync(`/proc/sys/net/${k}`) ? readFileSync(`/proc/sys/net/${k}`, 'utf8').trim() : '-'}`).join(' '),
    // Every mount a cluster could leave, except /run/netns itself (iproute2 makes it a mount point at the machine's
    // first `ip netns add`; stop() unmounts it when nothing else holds a namespace) and the named namespaces of
    // test beds other tests run meanwhile (other clusters, the agent tests' namespaces): this cluster's own are checked by name.
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => /kubelet|containerd|netns|cni|etcd|netcheck/.test(m) && m !== '/run/netns' && !/^\/run\/netns\/(nkc|ncl)-/.test(m))
      .sort()
      .join('\n'),
  };
}

interface UpProcess {
  child: ChildProcess;
  lines: Record<string, string>;
  stderr: () => string;
}

/** `cluster up` as a single node process (so that SIGKILL hits the owner itself), resolved once it prints `ready`. */
async function up(args: string[]): Promise<UpProcess> {
  const child = spawn(process.execPath, [...CLI, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/^ready$/m.test(stdout)) resolve();
    });
    child.on('close', (code) => reject(new Error(`cluster up exited ${code} before ready:\n${stderr.slice(-3000)}`)));
  });
  const lines = Object.fromEntries(stdout.trim().split('\n').filter((l) => l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
  return { child, lines, stderr: () => stderr };
}

function clusterDirs(): string[] {
  return readdirSync(tmpdir()).filter((e) => e.startsWith('netcheck-cluster-'));
}

describe.skipIf(skip !== undefined)('the real cluster (npm run cluster -- up)', () => {
  it(
    'prints kubeconfig, outside-host, probe-image, ready; real kubelets and pods; the outside host reaches LoadBalancers and the API, not pods; SIGTERM removes everything',
    async () => {
      await sweepStaleClusters(); // a cluster an earlier, killed run left would vanish during this test
      const before = await rootState();
      const cluster = await up(['--manifests', 'scenarios/financial-ml/manifests']);
      const { kubeconfig, 'outside-host': outside, 'probe-image': image } = cluster.lines as Record<string, string>;
      expect(Object.keys(cluster.lines).sort()).toEqual(['kubeconfig', 'outside-host', 'probe-image']);
      expect(image).toBe('netcheck.local/node:20');
      expect(cluster.stderr()).toMatch(/seed: workload images replaced by netcheck\.local\/listener:1 .*python:3\.12-alpine/);
      const dir = join(tmpdir(), clusterDirs().find((d) => kubeconfig!.startsWith(join(tmpdir(), d)))!);
      const id = dir.split('netcheck-cluster-')[1]!;
      try {
        const kubectl = async (...args: string[]) => (await runCommand(['kubectl', '--kubeconfig', kubeconfig!, ...args])).stdout;
        const nodes = await kubectl('get', 'nodes', '-o', 'wide', '--no-headers');
        expect(nodes.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['node-a Ready', 'node-b Ready']);
        expect(nodes).toMatch(/v1\.35\.4 .*containerd:\/\/1\.6/);
        const pods = JSON.parse(await kubectl('get', 'pods', '-A', '-o', 'json')) as { items: Array<{ metadata: { namespace: string }; status: { phase: string; podIP: string; hostIP: string } }> };
        expect(pods.items.length).toBeGreaterThanOrEqual(7);
        for (const p of pods.items) expect(p.status.phase).toBe('Running');
        // Pods spread over both nodes' CIDRs; their IPs are real addresses on real veths.
        expect(new Set(pods.items.map((p) => p.status.hostIP))).toEqual(new Set(['172.30.0.10', '172.30.0.11']));
        const mlflowPod = pods.items.find((p) => p.metadata.namespace === 'mlflow')!.status.podIP;

        // The outside host: the MLflow LoadBalancer answers over HTTP (kube-proxy DNAT to the listener); pod IPs have no route.
        const inOutside = (script: string) => runCommand(['nsenter', `--net=/run/netns/${outside}`, process.execPath, '-e', script]);
        const get = (url: string) => `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) }).then(async (r) => console.log(r.status, (await r.text()).trim()), (e) => console.log('error', e.cause?.code ?? e.name))`;
        expect((await inOutside(get('http://192.168.1.208:5000/health'))).stdout.trim()).toBe('200 ok');
        expect((await inOutside(get(`http://${mlflowPod}:5000/health`))).stdout.trim()).toMatch(/^error (ENETUNREACH|EHOSTUNREACH|TimeoutError)/);
        // The API at the kubeconfig URL, from the outside host too.
        expect((await runCommand(['nsenter', `--net=/run/netns/${outside}`, 'kubectl', '--kubeconfig', kubeconfig!, 'get', 'ns', 'mlflow', '-o', 'name'])).stdout.trim()).toBe('namespace/mlflow');
        // LoadBalancer status written as MetalLB would.
        expect(await kubectl('get', 'svc', '-n', 'mlflow', 'mlflow', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}')).toBe('192.168.1.208');
        expect(processesInCgroup(`netcheck-cluster-${id}`).length).toBeGreaterThan(10);

        // `npm run netcheck -- ...` runs netcheck inside the outside host: its runner reaches the LoadBalancer,
        // which exists nowhere else (from the root namespace this check would go out of the real default route).
        const scenario = join(dir, 'runner-lb.yaml');
        writeFileSync(scenario, JSON.stringify({
          apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name: 'runner-lb' },
          sources: { 'ci-runner': { runner: true } },
          targets: { 'mlflow-lb': { address: '192.168.1.208', port: 5000, http: { path: '/health', expectStatus: 200 } } },
          matrix: { 'ci-runner': { allow: ['mlflow-lb'] } },
        }));
        const wrapped = await runCommand([process.execPath, '--import', 'tsx', 'test/cluster-kit/outside-host-netcheck.ts', 'run', scenario, '--no-progress', '-o', 'json'], { env: { ...process.env, NETCHECK_CLUSTER_DIR: dir } });
        const cells = (JSON.parse(wrapped.stdout) as { cells: Array<{ source: string; target: string; pass: boolean; outcome: { kind: string } }> }).cells;
        expect(cells.map((c) => `${c.source} → ${c.target} ${c.outcome.kind} ${c.pass}`)).toEqual(['ci-runner → mlflow-lb http true']);
      } finally {
        cluster.child.kill('SIGTERM');
        expect(await new Promise((resolve) => cluster.child.on('close', resolve))).toBe(0);
      }
      expect(existsSync(dir)).toBe(false);
      expect(processesInCgroup(`netcheck-cluster-${id}`)).toEqual([]);
      expect(existsSync(`/sys/fs/cgroup/pids/netcheck-cluster-${id}`)).toBe(false);
      expect((await runCommand(['ip', 'netns', 'list'])).stdout).not.toContain(`nkc-${id}-`);
      expect(await rootState()).toEqual(before);
    },
    CLUSTER_START_TIMEOUT_MS,
  );

  it(
    '--cni flannel: a kube-flannel-ds pod per node and flanneld\'s rules and VXLAN devices only inside the nodes; SIGTERM removes everything, the root namespace unchanged',
    async () => {
      await sweepStaleClusters();
      const before = await rootState();
      const cluster = await up(['--cni', 'flannel']);
      const dir = clusterDirs().map((d) => join(tmpdir(), d)).find((d) => cluster.lines.kubeconfig!.startsWith(d))!;
      const id = dir.split('netcheck-cluster-')[1]!;
      try {
        const pods = (await runCommand(['kubectl', '--kubeconfig', cluster.lines.kubeconfig!, 'get', 'pods', '-A', '-o', 'wide', '--no-headers'])).stdout;
        for (const node of ['node-a', 'node-b']) expect(pods).toMatch(new RegExp(`^kube-flannel\\s+kube-flannel-ds-\\S+\\s+1/1\\s+Running\\s.*\\s${node}\\s`, 'm'));
        const inNode = async (argv: string[]) => (await runCommand(['nsenter', `--net=/run/netns/nkc-${id}-node-a`, ...argv])).stdout;
        expect(await inNode(['iptables-save', '-t', 'nat'])).toContain('FLANNEL-POSTRTG');
        expect(await inNode(['ip', '-o', 'link', 'show', 'flannel.1'])).toContain('flannel.1');
        // Nothing of flannel's in the root namespace while it runs (its pods are hostNetwork: the node's network).
        expect((await runCommand(['iptables-save'])).stdout).not.toMatch(/FLANNEL/);
        expect((await runCommand(['ip', '-o', 'link'])).stdout).not.toMatch(/flannel\.1|cni0/);
      } finally {
        cluster.child.kill('SIGTERM');
        expect(await new Promise((resolve) => cluster.child.on('close', resolve))).toBe(0);
      }
      expect(existsSync(dir)).toBe(false);
      expect(processesInCgroup(`netcheck-cluster-${id}`)).toEqual([]);
      expect((await runCommand(['ip', 'netns', 'list'])).stdout).not.toContain(`nkc-${id}-`);
      expect(await rootState()).toEqual(before);
    },
    CLUSTER_START_TIMEOUT_MS,
  );

  it(
    'kill -9 of its owner: the components die with it, and the next start (or a sweep) removes the shims, containers, cgroups, namespaces and directory left',
    async () => {
      const cluster = await up([]);
      const dir = clusterDirs().map((d) => join(tmpdir(), d)).find((d) => cluster.lines.kubeconfig!.startsWith(d))!;
      const id = dir.split('netcheck-cluster-')[1]!;
      // kube-router started after kube-proxy's first sync on each node, so no sync of kube-proxy's failed (its
      // failed first one is never retried); and the ready check names a jump that goes missing.
      for (const node of ['node-a', 'node-b']) {
        expect(readFileSync(join(dir, 'logs', `kube-proxy-${node}.log`), 'utf8')).not.toContain('Sync failed');
        expect(await kubeProxyUnsynced({ name: node, netns: `nkc-${id}-${node}` })).toEqual([]);
      }
      const outputJump = ['OUTPUT', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'];
      await runCommand(['nsenter', `--net=/run/netns/nkc-${id}-node-b`, 'iptables', '-w', '-t', 'nat', '-D', ...outputJump]);
      expect(await kubeProxyUnsynced({ name: 'node-b', netns: `nkc-${id}-node-b` })).toEqual(["node-b: kube-proxy's jump nat OUTPUT → KUBE-SERVICES"]);
      cluster.child.kill('SIGKILL');
      await new Promise((resolve) => cluster.child.on('close', resolve));
      // Everything the owner started itself dies with it (pdeathsig); CoreDNS's container and its shim outlive it.
      const commandsLeft = (): string[] =>
        processesInCgroup(`netcheck-cluster-${id}`).map((pid) => {
          try {
            return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          } catch {
            return '';
          }
        });
      for (let i = 0; i < 100 && commandsLeft().some((c) => c === 'kube' || c === 'containerd' || c === 'kube-router'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(commandsLeft().sort()).toEqual(['containerd-shim', 'coredns', 'pause']);
      expect(existsSync(dir)).toBe(true);

      const swept = await sweepStaleClusters();
      expect(swept).toContain(id);
      expect(processesInCgroup(`netcheck-cluster-${id}`)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
      expect((await runCommand(['ip', 'netns', 'list'])).stdout).not.toContain(`nkc-${id}-`);
    },
    CLUSTER_START_TIMEOUT_MS,
  );
});
