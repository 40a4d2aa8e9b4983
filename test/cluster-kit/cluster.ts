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
 * Everything it writes is under one directory (<tmp>/netcheck-cluster-<id>), everything it starts is in one
 * cgroup tree, and every namespace it makes carries its prefix: stop() removes all of it, and a cluster whose
 * owner died (kill -9) is swept at the next start.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { coreDnsObjects, kubeRouterRbac } from './addons.js';
import { buildComponents, type Components } from './build.js';
import { cniPlugin, type CniName } from './cni.js';
import {
  API_PORT,
  apiServerArgs,
  containerdConfig,
  controllerManagerArgs,
  etcdArgs,
  kubeletArgs,
  kubeletConfig,
  kubeProxyArgs,
  kubeProxyConfig,
  kubeRouterArgs,
  HOST_CNI_PLUGINS,
  NODE_CNI_BIN_DIR,
  NODE_CNI_CONF_DIR,
  nodeHostPath,
  schedulerArgs,
} from './configs.js';
import { buildImages, corednsImage, importImages, LISTENER_IMAGE, NODE_IMAGE, type ImageArchive } from './images.js';
import { startLoadBalancerController, type LoadBalancerController } from './loadbalancer.js';
import { readManifests } from './manifests.js';
import { CONTROL_PLANE_IP, createNetwork, deleteNetwork, netnsDirMounted, releaseNetnsDir, DNS_SERVICE_IP, KUBERNETES_SERVICE_IP, planNetwork, type ClusterNetwork, type NodeNetwork } from './network.js';
import { createPki, renderKubeconfig } from './pki.js';
import { createCgroup, isProcessAlive, killCgroup, readStartTime, startComponent, type ComponentProcess } from './processes.js';
import { kubeProxyUnsynced, missingServiceRules, silentLoadBalancers, unprogrammedPods } from './readiness.js';
import { runCommand } from './run-command.js';
import { applyOrder, objectKey, planSeed, withPlacement } from './seed.js';

const DIR_PREFIX = 'netcheck-cluster-';
const CLUSTER_DIR = /^netcheck-cluster-[0-9a-f]{6}$/;
const NETNS_PREFIX = 'nkc';
const RELAY = fileURLToPath(new URL('./relay.cjs', import.meta.url));
const STATE_TIMEOUT_MS = 180_000;

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

/** Removes clusters whose owner is gone: their processes, cgroups, namespaces and directories. */
export async function sweepStaleClusters(): Promise<string[]> {
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
    await killCgroup(cgroupOf(id));
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, explain?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = explain?.() ?? (lastError instanceof Error ? lastError.message : '');
      throw new Error(`cluster: ${what} not reached after ${timeoutMs / 1000}s${detail ? `: ${detail}` : ''}`);
    }
    await sleep(250);
  }
}

/** The root namespace's end of the API relay: 127.0.0.1:<port> → unix socket → the API server in the control plane. */
function relayToSocket(socket: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(socket);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, sockets }));
  });
}

export async function startCluster(options: ClusterOptions = {}): Promise<RunningCluster> {
  const progress = options.onProgress ?? (() => undefined);
  const nodeCount = options.nodes ?? 2;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 8) throw new Error(`--nodes must be 1..8, got ${nodeCount}`);
  const cniName = options.cni ?? 'kube-router';
  const cni = cniPlugin(cniName);
  if (cniName !== 'kube-router' && options.enforce !== undefined) {
    throw new Error(`--enforce applies to the kube-router CNI only (${cniName} decides enforcement itself)`);
  }

  const swept = await sweepStaleClusters();
  if (swept.length > 0) progress(`swept ${swept.length} cluster(s) left by a killed run: ${swept.join(', ')}`);

  const components = options.components ?? (await buildComponents({ onProgress: progress }));
  const id = randomBytes(3).toString('hex');
  const dir = join(tmpdir(), `${DIR_PREFIX}${id}`);
  // The directory appears under its swept name only with its owner marker inside, so a sweep running
  // concurrently never takes a starting cluster for a dead one.
  const staging = join(tmpdir(), `.starting-${DIR_PREFIX}${id}`);
  mkdirSync(join(staging, 'logs'), { recursive: true, mode: 0o700 });
  writeFileSync(join(staging, 'owner.json'), JSON.stringify({ pid: process.pid, startTime: readStartTime(process.pid) } satisfies Marker));
  renameSync(staging, dir);
  const cgroup = cgroupOf(id);
  const net = planNetwork(`${NETNS_PREFIX}-${id}`, nodeCount);
  const netnsDirWasMounted = netnsDirMounted();
  const logDir = join(dir, 'logs');
  const processes: ComponentProcess[] = [];
  const nodeRuntime = new Map<string, ComponentProcess>();
  const kubeRouters = new Map<string, ComponentProcess>();
  let apiServer: ComponentProcess | undefined;
  let relay: Awaited<ReturnType<typeof relayToSocket>> | undefined;
  let lbController: LoadBalancerController | undefined;
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await lbController?.stop();
      // Kubelets first, so that nothing restarts what is being killed; then everything in the cgroup tree.
      await Promise.all(processes.filter((p) => p.name.startsWith('kubelet')).map((p) => p.stop(2_000)));
      await killCgroup(cgroup);
      relay?.server.close();
      for (const s of relay?.sockets ?? []) s.destroy();
      await deleteNetwork(net.namespaces);
      if (!netnsDirWasMounted) await releaseNetnsDir();
      // Not rmSync: the directory holds containerd's snapshots, and a blocked event loop cannot even absorb the
      // repeated signals of a group stop (src/cli/stop-signals.ts).
      await rm(dir, { recursive: true, force: true });
    })());

  type Where = { netns?: string; mountNamespaceOf?: number; privateMounts?: string[]; env?: Record<string, string> };
  const start = (name: string, argv: string[], where: Where = {}): ComponentProcess => {
    const p = startComponent(name, argv, { cgroup: `${cgroup}/system`, logDir, ...where });
    processes.push(p);
    return p;
  };
  /** Started again when it exits on its own, as the kubelet restarts kubeadm's static control-plane pods. */
  const supervise = (name: string, argv: string[], where: Where = {}): { current(): ComponentProcess; stop(): Promise<void> } => {
    let current = start(name, argv, where);
    let wanted = true;
    const watch = (p: ComponentProcess): void => {
      void p.exited.then(() => {
        if (!wanted || stopped !== undefined) return;
        setTimeout(() => {
          if (!wanted || stopped !== undefined) return;
          current = start(name, argv, where);
          watch(current);
        }, 1_000);
      });
    };
    watch(current);
    return {
      current: () => current,
      async stop() {
        wanted = false;
        await current.stop();
      },
    };
  };
  const kube = (component: string, args: string[]): string[] => [components.kube, component, ...args.slice(1)];

  try {
    createCgroup(`${cgroup}/system`);
    progress(`network: ${net.namespaces.length} namespaces (${net.namespaces.join(', ')})`);
    await createNetwork(net, { podRoutes: cni.fabricPodRoutes, nodeDefaultRoute: cni.nodeDefaultRoute });

    const pkiDir = join(dir, 'pki');
    const pki = await createPki(pkiDir, {
      ips: ['127.0.0.1', CONTROL_PLANE_IP, KUBERNETES_SERVICE_IP],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    });
    const inCluster = `https://${CONTROL_PLANE_IP}:${API_PORT}`;
    const local = `https://127.0.0.1:${API_PORT}`;

    progress('control plane: etcd, kube-apiserver');
    start('etcd', kube('etcd', etcdArgs(join(dir, 'etcd'))), { netns: net.controlPlane });
    const apiSocket = join(dir, 'api.sock');
    start('api-relay', [process.execPath, RELAY, 'unix-to-tcp', apiSocket, `127.0.0.1:${API_PORT}`], { netns: net.controlPlane });
    const startApi = (): ComponentProcess => (apiServer = start('kube-apiserver', kube('kube-apiserver', apiServerArgs(pki)), { netns: net.controlPlane }));
    startApi();
    relay = await relayToSocket(apiSocket);
    const server = `https://127.0.0.1:${relay.port}`;
    const admin = await pki.kubeconfig('admin', { user: 'kubernetes-admin', groups: ['system:masters'] }, server);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(admin);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await waitUntil('API server healthy', async () => ((await core.listNamespace()).items.some((n) => n.metadata?.name === 'kube-system') ? true : undefined), STATE_TIMEOUT_MS, () => apiServer!.tail(5));
    // The outside host reaches the API at the same URL as the root namespace, so one kubeconfig serves both.
    start('outside-api-relay', [process.execPath, RELAY, 'tcp-to-unix', `127.0.0.1:${relay.port}`, apiSocket], { netns: net.outsideHost });

    progress('control plane: kube-controller-manager, kube-scheduler');
    const cm = await pki.kubeconfig('controller-manager', { user: 'system:kube-controller-manager' }, local);
    const scheduler = await pki.kubeconfig('scheduler', { user: 'system:kube-scheduler' }, local);
    // They read the API server's bootstrap RBAC and its authentication ConfigMap at start (kubeadm's static pods
    // would crash-loop until then): wait for the post-start hooks' objects.
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await waitUntil(
      'API server bootstrap RBAC',
      async () => {
        await rbac.readNamespacedRoleBinding({ name: 'system::extension-apiserver-authentication-reader', namespace: 'kube-system' });
        await rbac.readClusterRoleBinding({ name: 'system:kube-controller-manager' });
        await core.readNamespacedConfigMap({ name: 'extension-apiserver-authentication', namespace: 'kube-system' });
        return true;
      },
      STATE_TIMEOUT_MS,
    );
    supervise('kube-controller-manager', kube('kube-controller-manager', controllerManagerArgs(pki, cm)), { netns: net.controlPlane });
    supervise('kube-scheduler', kube('kube-scheduler', schedulerArgs(scheduler)), { netns: net.controlPlane });

    // Objects go in through kubectl, as an operator's would: client-node's typed serializer drops fields whose
    // model names differ from the wire names (a NetworkPolicy rule's `from` is `_from` there), which once
    // turned every seeded ingress rule into "allow from anywhere".
    const kubectlApply = async (list: Record<string, unknown>[]): Promise<void> => {
      await runCommand(['kubectl', '--kubeconfig', admin, 'apply', '--server-side', '--field-manager=netcheck-cluster', '--force-conflicts', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: list }) });
    };
    // CustomResourceDefinitions first, and Established, as Helm installs a chart's crds/: objects of their kinds
    // in the same list would otherwise find no REST mapping (Calico's IP pools beside its CRDs).
    const apply = async (list: Record<string, unknown>[]): Promise<void> => {
      const crds = list.filter((o) => o.kind === 'CustomResourceDefinition');
      if (crds.length > 0) {
        await kubectlApply(crds);
        const names = crds.map((o) => `crd/${(o.metadata as { name: string }).name}`);
        await runCommand(['kubectl', '--kubeconfig', admin, 'wait', '--for=condition=Established', `--timeout=${STATE_TIMEOUT_MS / 1000}s`, ...names]);
      }
      const rest = list.filter((o) => o.kind !== 'CustomResourceDefinition');
      if (rest.length > 0) await kubectlApply(rest);
    };
    if (cniName === 'kube-router') await apply(kubeRouterRbac('kube-router'));
    const coreDnsImage = corednsImage(components.versions.coredns);
    // The seed is planned first: where its manifests place CoreDNS is where the cluster's own runs.
    const provided = new Set(coreDnsObjects(coreDnsImage).map((o) => objectKey(o as Record<string, any>)));
    const seeded = options.manifests !== undefined && options.manifests.length > 0;
    const seed = seeded ? planSeed(readManifests(options.manifests!), provided) : undefined;
    await apply(withPlacement(coreDnsObjects(coreDnsImage), seed?.placement ?? {}));

    progress(`images: node, listener, coredns, pause${cniName === 'kube-router' ? '' : `, ${cniName}`}`);
    const imagesDir = join(components.cacheDir, 'images');
    const images = [
      ...(await buildImages(imagesDir, { coredns: components.coredns, pause: components.pause, corednsVersion: components.versions.coredns })),
      ...(await cni.images({ components, imagesDir, network: net })),
    ];

    const proxyKubeconfig = await pki.kubeconfig('kube-proxy', { user: 'system:kube-proxy' }, inCluster);
    const routerKubeconfig = await pki.kubeconfig('kube-router', { user: 'kube-router' }, inCluster);
    const startKubeRouter = (node: NodeNetwork): void => {
      kubeRouters.set(node.name, start(`kube-router-${node.name}`, [components.kubeRouter, ...kubeRouterArgs(node, routerKubeconfig)], { netns: node.netns, mountNamespaceOf: nodeRuntime.get(node.name)!.pid }));
    };
    const stopKubeRouter = async (node: NodeNetwork): Promise<void> => {
      await kubeRouters.get(node.name)?.stop();
      kubeRouters.delete(node.name);
      await removeKubeRouterState(node, nodeRuntime.get(node.name)!.pid);
    };
    const wanted = (enforce: Enforcement): Set<string> => {
      if (enforce === 'all') return new Set(net.nodes.map((n) => n.name));
      if (enforce === 'none') return new Set();
      const unknown = enforce.filter((n) => !net.nodes.some((node) => node.name === n));
      if (unknown.length > 0) throw new Error(`--enforce: no node ${unknown.join(', ')} (nodes: ${net.nodes.map((n) => n.name).join(', ')})`);
      return new Set(enforce);
    };
    const initialEnforcement = wanted(cniName === 'kube-router' ? (options.enforce ?? 'all') : 'none');

    for (const node of net.nodes) {
      progress(`${node.name}: containerd, kubelet, kube-proxy${initialEnforcement.has(node.name) ? ', kube-router' : ''} (${node.ip}, pods ${node.podCIDR})`);
      const nodeDir = join(dir, node.name);
      for (const sub of ['run', 'var-lib', 'var-log', 'containerd', 'kubelet']) mkdirSync(join(nodeDir, sub), { recursive: true });
      const cniConfDir = nodeHostPath(nodeDir, NODE_CNI_CONF_DIR);
      const cniBinDir = nodeHostPath(nodeDir, NODE_CNI_BIN_DIR);
      mkdirSync(cniConfDir, { recursive: true });
      mkdirSync(cniBinDir, { recursive: true });
      // The node's standard plugins (bridge, host-local, portmap, ...), as a node image ships them in
      // /opt/cni/bin; a CNI's DaemonSet adds its own beside them.
      for (const plugin of readdirSync(HOST_CNI_PLUGINS)) symlinkSync(join(HOST_CNI_PLUGINS, plugin), join(cniBinDir, plugin));
      const socket = join(nodeDir, 'containerd.sock');
      writeFileSync(join(nodeDir, 'containerd.toml'), containerdConfig(join(nodeDir, 'containerd'), socket));
      const kitCniConfig = cni.nodeConfig(node, nodeDir);
      if (kitCniConfig !== undefined) writeFileSync(kitCniConfig.file, kitCniConfig.content);
      writeFileSync(join(nodeDir, 'resolv.conf'), '');
      // containerd and the kubelet share a private mount namespace whose /run, /var/lib and /var/log are the
      // node's own directories: the paths they insist on (pod network namespaces under /run/netns, runc's state,
      // CNI's cache, /var/log/containers) land there, never on the machine.
      const runtime = start(`containerd-${node.name}`, ['containerd', '--config', join(nodeDir, 'containerd.toml')], {
        netns: node.netns,
        privateMounts: [`mount --bind ${join(nodeDir, 'run')} /run`, `mount --bind ${join(nodeDir, 'var-lib')} /var/lib`, `mount --bind ${join(nodeDir, 'var-log')} /var/log`],
      });
      nodeRuntime.set(node.name, runtime);
      await waitUntil(`${node.name} containerd socket`, async () => (existsSync(socket) ? true : undefined), 30_000, () => runtime.tail(5));
      await importImages(images, ['--address', socket], ['nsenter', `--mount=/proc/${runtime.pid}/ns/mnt`]);
      const kubeletKubeconfig = await pki.kubeconfig(`kubelet-${node.name}`, { user: `system:node:${node.name}`, groups: ['system:nodes'] }, inCluster);
      const kubeletConfigPath = join(nodeDir, 'kubelet.yaml');
      createCgroup(`${cgroup}/${node.name}`);
      writeFileSync(kubeletConfigPath, kubeletConfig(pki, node, { rootDir: join(nodeDir, 'kubelet'), socket, resolvConf: join(nodeDir, 'resolv.conf'), cgroupRoot: `/${cgroup}/${node.name}` }));
      start(`kubelet-${node.name}`, kube('kubelet', kubeletArgs(node, kubeletConfigPath, kubeletKubeconfig, join(nodeDir, 'kubelet'))), { netns: node.netns, mountNamespaceOf: runtime.pid });
      const proxyConfig = join(nodeDir, 'kube-proxy.yaml');
      writeFileSync(proxyConfig, kubeProxyConfig(node, proxyKubeconfig));
      start(`kube-proxy-${node.name}`, kube('kube-proxy', kubeProxyArgs(proxyConfig)), { netns: node.netns, mountNamespaceOf: runtime.pid });
    }
    for (const node of net.nodes) {
      await waitUntil(`${node.name} registered`, async () => ((await core.listNode()).items.some((n) => n.metadata?.name === node.name) ? true : undefined), STATE_TIMEOUT_MS, () => processes.find((p) => p.name === `kubelet-${node.name}`)!.tail(5));
      // What the node IPAM controller would write; kube-router reads a node's pod CIDR from here.
      await core.patchNode({ name: node.name, body: { spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      if (!initialEnforcement.has(node.name)) continue;
      // kube-router's sync restores the whole filter table from an iptables-save it took before (kube-router#1248,
      // #1372): jumps kube-proxy adds in between vanish, its first sync fails, and kube-proxy retries that one only
      // at the next Service or endpoint change (it runs outside its retrying runner). So kube-proxy goes first.
      let unsynced: string[] = [];
      await waitUntil(
        `${node.name} kube-proxy's first sync`,
        async () => ((unsynced = await kubeProxyUnsynced(node)).length === 0 ? true : undefined),
        STATE_TIMEOUT_MS,
        () => `still missing: ${unsynced.join('; ')}; ${processes.find((p) => p.name === `kube-proxy-${node.name}`)!.tail(3)}`,
      );
      startKubeRouter(node);
    }
    const cniObjects = cni.objects({ components, imagesDir, network: net });
    if (cniObjects.length > 0) {
      progress(`${cniName}: ${cni.daemonSets.map((d) => `DaemonSet ${d.namespace}/${d.name}`).join(', ')}`);
      await apply(cniObjects);
    }
    lbController = startLoadBalancerController(kc, net, progress);

    if (options.manifests !== undefined && seed !== undefined) {
      const plan = seed;
      if (plan.replacedImages.length > 0) progress(`seed: workload images replaced by ${LISTENER_IMAGE} (listens on each container's declared ports): ${plan.replacedImages.join(', ')}`);
      if (plan.keptFromCluster.length > 0) progress(`seed: the cluster's own ${plan.keptFromCluster.join(', ')} kept (the manifests describe it)`);
      try {
        await apply(applyOrder(plan.objects));
      } catch (err) {
        throw new Error(`seed: kubectl apply of ${options.manifests.join(', ')} failed: ${(err as Error).message}`);
      }
    }

    progress('waiting: nodes and workloads Ready, kube-proxy rules, CoreDNS answering from every node, LoadBalancers answering');
    await waitForReady({ kc, net, processes });

    const kubeconfigPath = admin;
    const running: RunningCluster = {
      dir,
      kubeconfigPath,
      outsideHost: net.outsideHost,
      probeImage: NODE_IMAGE,
      nodes: net.nodes,
      network: net,
      versions: components.versions,
      cni: cniName,
      nodeDir: (node) => join(dir, node),
      outsideHostArgv: (argv) => ['nsenter', `--net=/run/netns/${net.outsideHost}`, ...argv],
      nodeArgv: (node, argv) => ['nsenter', `--net=/run/netns/${net.nodes.find((n) => n.name === node)?.netns ?? node}`, ...argv],
      async setEnforcement(enforce) {
        if (cniName !== 'kube-router') throw new Error(`setEnforcement: the ${cniName} CNI decides enforcement itself (kube-router only)`);
        const target = wanted(enforce);
        for (const node of net.nodes) {
          if (target.has(node.name) && !kubeRouters.has(node.name)) startKubeRouter(node);
          if (!target.has(node.name) && kubeRouters.has(node.name)) await stopKubeRouter(node);
        }
        await waitForPolicySync(kc, net.nodes.filter((n) => target.has(n.name)));
      },
      async stopApiServer() {
        await apiServer?.stop();
      },
      async startApiServer() {
        startApi();
        await waitUntil('API server healthy again', async () => ((await core.listNamespace()).items.length > 0 ? true : undefined), STATE_TIMEOUT_MS, () => apiServer!.tail(5));
      },
      containerRuntimePid(node) {
        const runtime = nodeRuntime.get(node);
        if (runtime === undefined) throw new Error(`no node ${node} (nodes: ${net.nodes.map((n) => n.name).join(', ')})`);
        return runtime.pid;
      },
      async importImages(archives) {
        for (const node of net.nodes) {
          const pid = nodeRuntime.get(node.name)!.pid;
          await importImages(archives, ['--address', join(dir, node.name, 'containerd.sock')], ['nsenter', `--mount=/proc/${pid}/ns/mnt`]);
        }
      },
      async kubeconfigFor(name, credentials) {
        if ('token' in credentials) {
          const path = join(pki.dir, `${name}.kubeconfig`);
          writeFileSync(path, renderKubeconfig({ server, caData: readFileSync(pki.caCert).toString('base64'), token: credentials.token, user: name }), { mode: 0o600 });
          return path;
        }
        return pki.kubeconfig(name, credentials, server);
      },
      stop,
    };
    await waitForPolicySync(kc, net.nodes.filter((n) => initialEnforcement.has(n.name)));
    return running;
  } catch (err) {
    const logs = processes.filter((p) => p.child.exitCode !== null).map((p) => `${p.name} exited: ${p.tail(3)}`);
    await stop().catch(() => undefined);
    if (logs.length > 0 && err instanceof Error) err.message += `\n${logs.join('\n')}`;
    throw err;
  }
}

/** Nodes Ready, CoreDNS answering at the kube-dns Service IP, every seeded workload's pods Ready. */
async function waitForReady({ kc, net, processes }: { kc: k8s.KubeConfig; net: ClusterNetwork; processes: ComponentProcess[] }): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const dead = (): string => processes.filter((p) => p.child.exitCode !== null).map((p) => `${p.name} exited: ${p.tail(3)}`).join('; ');
  await waitUntil(
    'every node Ready',
    async () => {
      const nodes = (await core.listNode()).items;
      return nodes.length === net.nodes.length && nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
    },
    STATE_TIMEOUT_MS,
    dead,
  );
  await waitUntil(
    'every Deployment, StatefulSet and DaemonSet Ready',
    async () => {
      const [deployments, statefulSets, daemonSets] = await Promise.all([apps.listDeploymentForAllNamespaces(), apps.listStatefulSetForAllNamespaces(), apps.listDaemonSetForAllNamespaces()]);
      const notReady = [
        ...deployments.items.filter((d) => (d.status?.readyReplicas ?? 0) < (d.spec?.replicas ?? 1)),
        ...statefulSets.items.filter((s) => (s.status?.readyReplicas ?? 0) < (s.spec?.replicas ?? 1)),
        ...daemonSets.items.filter((d) => (d.status?.numberReady ?? 0) < (d.status?.desiredNumberScheduled ?? 1)),
      ];
      return notReady.length === 0 ? true : undefined;
    },
    STATE_TIMEOUT_MS,
    dead,
  );
  // readiness.ts: what Ready pods do not prove. Each keeps what is still missing for the timeout's message.
  const waitForNothingMissing = async (what: string, check: () => Promise<string[]>): Promise<void> => {
    let missing: string[] = [];
    await waitUntil(what, async () => ((missing = await check()).length === 0 ? true : undefined), STATE_TIMEOUT_MS, () => `still missing: ${missing.join('; ')} ${dead()}`.trim());
  };
  // Before the DNS queries, which need these rules: a timeout then names the node and rule that is missing.
  await waitForNothingMissing('kube-proxy: its jumps and every ready endpoint programmed on every node', () => missingServiceRules(kc, net));
  // From every node: a pod's query goes through its own node's kube-proxy rules.
  for (const node of net.nodes) {
    let answer = '';
    await waitUntil(
      `CoreDNS answering at ${DNS_SERVICE_IP} from ${node.name}`,
      async () => {
        answer = (await runCommand(['nsenter', `--net=/run/netns/${node.netns}`, process.execPath, '-e', DNS_QUERY, DNS_SERVICE_IP, 'kubernetes.default.svc.cluster.local'])).stdout.trim();
        return answer.includes(KUBERNETES_SERVICE_IP) ? true : undefined;
      },
      STATE_TIMEOUT_MS,
      () => `last answer ${answer} ${dead()}`.trim(),
    );
  }
  await waitForNothingMissing('every LoadBalancer address answering from the outside host', () => silentLoadBalancers(kc, net));
}

/** One A query from a node's namespace (kube-proxy DNATs the Service IP there as for any pod). */
const DNS_QUERY = `
const { Resolver } = require('node:dns').promises;
const [server, name] = process.argv.slice(1);
const resolver = new Resolver({ timeout: 500, tries: 1 });
resolver.setServers([server]);
resolver.resolve4(name).then((a) => console.log(JSON.stringify(a)), (e) => console.log(JSON.stringify({ error: e.code ?? String(e) })));
`;

/**
 * kube-router programs policies asynchronously; a cluster is usable for enforcement tests once every enforcing
 * node shows every pod there, each with the policies selecting it (readiness.ts, unprogrammedPods).
 */
async function waitForPolicySync(kc: k8s.KubeConfig, nodes: NodeNetwork[]): Promise<void> {
  let missing: string[] = [];
  await waitUntil('kube-router: every policy-selected pod programmed', async () => ((missing = await unprogrammedPods(kc, nodes)).length === 0 ? true : undefined), STATE_TIMEOUT_MS, () => `still missing: ${missing.join('; ')}`);
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
