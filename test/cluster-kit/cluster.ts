/**
 * startCluster(): a real Kubernetes cluster made of pinned upstream components (build.ts), run as processes in
 * network namespaces on this machine, as kind assembles one from upstream parts in containers:
 *
 *   control plane (namespace <prefix>-cp): etcd, kube-apiserver (Node+RBAC authorization, NodeRestriction and
 *     PodSecurity admission), kube-controller-manager, kube-scheduler
 *   nodes (<prefix>-node-a, ...): containerd + runc (Debian's), kubelet, kube-proxy (iptables), and the pod
 *     network chosen by `cni` (cni.ts): Debian's bridge + host-local with kube-router's network-policy controller
 *     where policies are enforced (the default), or Flannel / Calico as DaemonSets with their VXLAN overlay
 *   addons: CoreDNS as a Deployment behind Service kube-dns; a LoadBalancer controller (loadbalancer.ts)
 *   outside host (<prefix>-outside): the machine netcheck runs on
 *
 * The start is an ordered list of named phases (start-phases.ts), each one progress line.
 * Everything it writes is under one directory (<tmp>/netcheck-cluster-<id>), everything it starts is in one
 * cgroup tree, and every namespace it makes carries its prefix: stop() removes all of it, and a cluster whose
 * owner died (kill -9) is swept at the next start.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildComponents, type Components } from './build.js';
import { cniPlugin, type CniName } from './cni.js';
import { importImages, NODE_IMAGE, type ImageArchive } from './images.js';
import { deleteNetwork, netnsDirMounted, releaseNetnsDir, planNetwork, type ClusterNetwork, type NodeNetwork } from './network.js';
import { admitCluster } from './host-capacity.js';
import { renderKubeconfig } from './pki.js';
import { isProcessAlive, killCgroup, readStartTime } from './processes.js';
import { runCommand } from './run-command.js';
import { START_PHASES, STATE_TIMEOUT_MS, StartingCluster, waitForPolicySync, waitUntil } from './start-phases.js';

const DIR_PREFIX = 'netcheck-cluster-';
const CLUSTER_DIR = /^netcheck-cluster-[0-9a-f]{6}$/;
const NETNS_PREFIX = 'nkc';

/** Which nodes run kube-router's policy controller: all (Calico), none (Flannel), or some (a migration halfway). */
export type Enforcement = 'all' | 'none' | string[];

export interface ClusterOptions {
  nodes?: number;
  /** The pod network (cni.ts); kube-router, the default, is the only one `enforce` applies to. */
  cni?: CniName;
  enforce?: Enforcement;
  manifests?: string[];
  /** Prebuilt components (default: buildComponents(), cached). */
  components?: Components;
  /** One line per step, for the CLI's progress. */
  onProgress?: (line: string) => void;
}

export interface RunningCluster {
  readonly dir: string;
  /** Admin kubeconfig: https://127.0.0.1:PORT, which works in the root namespace and in the outside host. */
  readonly kubeconfigPath: string;
  readonly outsideHost: string;
  readonly probeImage: string;
  readonly nodes: NodeNetwork[];
  readonly network: ClusterNetwork;
  readonly versions: Components['versions'];
  readonly cni: CniName;
  /** A node's directory on this machine (its /run, /var/lib, /var/log are nodeHostPath(nodeDir(node), ...)). */
  nodeDir(node: string): string;
  /** argv that runs `argv` inside the outside host. */
  outsideHostArgv(argv: string[]): string[];
  /** argv that runs `argv` inside a node's network namespace. */
  nodeArgv(node: string, argv: string[]): string[];
  /** Which nodes enforce NetworkPolicies from now on (kube-router started, or stopped and its rules removed);
   * only with the kube-router CNI. */
  setEnforcement(enforce: Enforcement): Promise<void>;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  /** The PID of a node's containerd (the process itself: every wrapper before it execs), for faults.ts. */
  containerRuntimePid(node: string): number;
  /** Loads more images (e.g. buildNetcheckImage's) into every node's containerd, as a registry pull would. */
  importImages(archives: ImageArchive[]): Promise<void>;
  /** A kubeconfig for `identity` (a client certificate signed by the cluster CA), or with a bearer token. */
  kubeconfigFor(name: string, credentials: { user: string; groups?: string[] } | { token: string }): Promise<string>;
  stop(): Promise<void>;
}

interface Marker {
  pid: number;
  startTime?: string;
}

async function listNetns(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  return stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}

/**
 * Removes clusters whose owner is gone: their processes, cgroups, namespaces and directories. A dead cluster that
 * cannot be removed yet (on a loaded machine a killed process can outlive killCgroup's wait) is reported through
 * `onProblem` and left to the next sweep: another cluster's leftovers must not stop this start.
 */
export async function sweepStaleClusters(onProblem: (line: string) => void = () => undefined): Promise<string[]> {
  const swept: string[] = [];
  const live = new Set<string>();
  const namespaces = await listNetns();
  for (const entry of readdirSync(tmpdir())) {
    // Only this kit's directories (6 hex digits, see startCluster): another tool's `netcheck-cluster-test-x` is not ours.
    if (!CLUSTER_DIR.test(entry)) continue;
    const id = entry.slice(DIR_PREFIX.length);
    const dir = join(tmpdir(), entry);
    let marker: Marker | undefined;
    try {
      marker = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as Marker;
    } catch {
      marker = undefined;
    }
    if (marker !== undefined && isProcessAlive(marker.pid, marker.startTime)) {
      live.add(id);
      continue;
    }
    try {
      await killCgroup(cgroupOf(id));
    } catch (err) {
      live.add(id); // its namespaces stay until its processes are gone
      onProblem(`cluster ${id} (owner gone) not swept yet: ${(err as Error).message}; the next start tries again`);
      continue;
    }
    await deleteNetwork(namespaces.filter((n) => n.startsWith(`${NETNS_PREFIX}-${id}-`)));
    await rm(dir, { recursive: true, force: true });
    swept.push(id);
  }
  // Namespaces whose directory is already gone (a crash between the two).
  const orphans = namespaces.filter((n) => n.startsWith(`${NETNS_PREFIX}-`) && !live.has(n.split('-')[1] ?? ''));
  await deleteNetwork(orphans);
  return swept;
}

function cgroupOf(id: string): string {
  return `${DIR_PREFIX}${id}`;
}

export async function startCluster(options: ClusterOptions = {}): Promise<RunningCluster> {
  const progress = options.onProgress ?? (() => undefined);
  const nodeCount = options.nodes ?? 2;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 8) throw new Error(`--nodes must be 1..8, got ${nodeCount}`);
  const cniName = options.cni ?? 'kube-router';
  if (cniName !== 'kube-router' && options.enforce !== undefined) {
    throw new Error(`--enforce applies to the kube-router CNI only (${cniName} decides enforcement itself)`);
  }

  const swept = await sweepStaleClusters(progress);
  if (swept.length > 0) progress(`swept ${swept.length} cluster(s) left by a killed run: ${swept.join(', ')}`);

  const components = options.components ?? (await buildComponents({ onProgress: progress }));
  const admission = await admitCluster(nodeCount, progress);
  const id = randomBytes(3).toString('hex');
  const dir = join(tmpdir(), `${DIR_PREFIX}${id}`);
  // The directory appears under its swept name only with its owner marker inside, so a sweep running
  // concurrently never takes a starting cluster for a dead one.
  const staging = join(tmpdir(), `.starting-${DIR_PREFIX}${id}`);
  mkdirSync(join(staging, 'logs'), { recursive: true, mode: 0o700 });
  writeFileSync(join(staging, 'owner.json'), JSON.stringify({ pid: process.pid, startTime: readStartTime(process.pid) } satisfies Marker));
  renameSync(staging, dir);
  const net = planNetwork(`${NETNS_PREFIX}-${id}`, nodeCount);
  const enforcing = (enforce: Enforcement): Set<string> => {
    if (enforce === 'all') return new Set(net.nodes.map((n) => n.name));
    if (enforce === 'none') return new Set();
    const unknown = enforce.filter((n) => !net.nodes.some((node) => node.name === n));
    if (unknown.length > 0) throw new Error(`--enforce: no node ${unknown.join(', ')} (nodes: ${net.nodes.map((n) => n.name).join(', ')})`);
    return new Set(enforce);
  };
  const s = new StartingCluster(dir, cgroupOf(id), net, components, cniName, cniPlugin(cniName), enforcing(cniName === 'kube-router' ? (options.enforce ?? 'all') : 'none'), options.manifests, progress);
  const netnsDirWasMounted = netnsDirMounted();
  let stopped: Promise<void> | undefined;

  // Teardown does not walk the phases back: everything started is in one cgroup tree and every namespace carries the
  // cluster's prefix, so killing the tree and deleting the namespaces undoes any prefix of the phases.
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await s.lbController?.stop();
      // Kubelets first, so that nothing restarts what is being killed; then everything in the cgroup tree.
      await Promise.all(s.processes.filter((p) => p.name.startsWith('kubelet')).map((p) => p.stop(2_000)));
      await killCgroup(s.cgroup);
      s.relay?.server.close();
      for (const socket of s.relay?.sockets ?? []) socket.destroy();
      await deleteNetwork(net.namespaces);
      if (!netnsDirWasMounted) await releaseNetnsDir();
      // Not rmSync: the directory holds containerd's snapshots, and a blocked event loop cannot even absorb the
      // repeated signals of a group stop (src/cli/stop-signals.ts).
      await rm(dir, { recursive: true, force: true });
    })());

  try {
    for (const phase of START_PHASES) {
      const title = phase.title(s);
      if (title !== undefined) progress(title);
      await phase.run(s, () => stopped !== undefined);
      if (phase.inotifyTaken) admission.release();
    }
    return runningCluster(s, stop, enforcing);
  } catch (err) {
    const dead = s.deadComponents();
    await stop().catch(() => undefined);
    if (dead !== '' && err instanceof Error) err.message += `\n${dead.split('; ').join('\n')}`;
    throw err;
  } finally {
    admission.release();
  }
}

/** What the tests hold: the started cluster's facts and the faults and changes they may make to it. */
function runningCluster(s: StartingCluster, stop: () => Promise<void>, enforcing: (enforce: Enforcement) => Set<string>): RunningCluster {
  const { net, dir } = s;
  const stopKubeRouter = async (node: NodeNetwork): Promise<void> => {
    await s.kubeRouters.get(node.name)?.stop();
    s.kubeRouters.delete(node.name);
    await removeKubeRouterState(node, s.nodeRuntime.get(node.name)!.pid);
  };
  return {
    dir,
    kubeconfigPath: s.admin,
    outsideHost: net.outsideHost,
    probeImage: NODE_IMAGE,
    nodes: net.nodes,
    network: net,
    versions: s.components.versions,
    cni: s.cniName,
    nodeDir: (node) => join(dir, node),
    outsideHostArgv: (argv) => ['nsenter', `--net=/run/netns/${net.outsideHost}`, ...argv],
    nodeArgv: (node, argv) => ['nsenter', `--net=/run/netns/${net.nodes.find((n) => n.name === node)?.netns ?? node}`, ...argv],
    async setEnforcement(enforce) {
      if (s.cniName !== 'kube-router') throw new Error(`setEnforcement: the ${s.cniName} CNI decides enforcement itself (kube-router only)`);
      const target = enforcing(enforce);
      for (const node of net.nodes) {
        if (target.has(node.name) && !s.kubeRouters.has(node.name)) s.startKubeRouter(node);
        if (!target.has(node.name) && s.kubeRouters.has(node.name)) await stopKubeRouter(node);
      }
      await waitForPolicySync(s.kc, net.nodes.filter((n) => target.has(n.name)));
    },
    async stopApiServer() {
      await s.apiServer.stop();
    },
    async startApiServer() {
      s.startApiServer();
      await waitUntil('API server healthy again', async () => ((await s.core.listNamespace()).items.length > 0 ? true : undefined), STATE_TIMEOUT_MS, () => s.apiServer.tail(5));
    },
    containerRuntimePid(node) {
      const runtime = s.nodeRuntime.get(node);
      if (runtime === undefined) throw new Error(`no node ${node} (nodes: ${net.nodes.map((n) => n.name).join(', ')})`);
      return runtime.pid;
    },
    async importImages(archives) {
      for (const node of net.nodes) {
        const pid = s.nodeRuntime.get(node.name)!.pid;
        await importImages(archives, ['--address', join(dir, node.name, 'containerd.sock')], ['nsenter', `--mount=/proc/${pid}/ns/mnt`]);
      }
    },
    async kubeconfigFor(name, credentials) {
      if ('token' in credentials) {
        const path = join(s.pki.dir, `${name}.kubeconfig`);
        writeFileSync(path, renderKubeconfig({ server: s.server, caData: readFileSync(s.pki.caCert).toString('base64'), token: credentials.token, user: name }), { mode: 0o600 });
        return path;
      }
      return s.pki.kubeconfig(name, credentials, s.server);
    },
    stop,
  };
}

const KUBE_ROUTER_CHAIN = /^(KUBE-ROUTER-|KUBE-POD-FW-|KUBE-NWPLCY-)/;

/**
 * What an operator does when removing kube-router from a node: its rules keep enforcing after it stops, so its
 * jumps, chains (filter table only) and ipsets go. `kube-router --cleanup-config` would be the upstream way, but
 * v2.1.0's reports success and leaves every rule in place (then dies in the service proxy's cleanup).
 */
async function removeKubeRouterState(node: NodeNetwork, mountNamespaceOf: number): Promise<void> {
  const inNode = (argv: string[]): string[] => ['nsenter', `--net=/run/netns/${node.netns}`, `--mount=/proc/${mountNamespaceOf}/ns/mnt`, ...argv];
  const { stdout } = await runCommand(inNode(['iptables-save', '-t', 'filter']));
  const chains = stdout.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0] as string).filter((c) => KUBE_ROUTER_CHAIN.test(c));
  const jumps = stdout.split('\n').filter((l) => l.startsWith('-A ') && !KUBE_ROUTER_CHAIN.test(l.split(' ')[1] ?? '') && / -j (KUBE-ROUTER-|KUBE-POD-FW-|KUBE-NWPLCY-)/.test(l));
  if (chains.length > 0 || jumps.length > 0) {
    const restore = ['*filter', ...jumps.map((l) => `-D ${l.slice(3)}`), ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
    await runCommand(inNode(['iptables-restore', '--noflush', '-w']), { input: restore });
  }
  const sets = (await runCommand(inNode(['ipset', 'list', '-n']))).stdout.split('\n').filter((n) => /^(KUBE-|kube-router-)/.test(n));
  for (const set of sets) await runCommand(inNode(['ipset', 'destroy', set]));
}
