/**
 * Starting a cluster as an ordered list of named phases (kind's create runs its actions the same way): network,
 * certificates and API server, controllers, cluster DNS, images, nodes, node registration and enforcer, CNI,
 * LoadBalancers, seed, ready, policies programmed. Each phase is a small function over one shared
 * StartingCluster whose title is the progress line; a phase sets the fields later ones read (each field says
 * which). startCluster (cluster.ts) runs them in order and tears everything down if one throws.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { coreDnsObjects, kubeRouterRbac } from './addons.js';
import type { Components } from './build.js';
import type { CniName, CniPlugin } from './cni.js';
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
import { buildImages, corednsImage, importImages, LISTENER_IMAGE, type ImageArchive } from './images.js';
import { startLoadBalancerController, type LoadBalancerController } from './loadbalancer.js';
import { readManifests } from './manifests.js';
import { CONTROL_PLANE_IP, createNetwork, DNS_SERVICE_IP, KUBERNETES_SERVICE_IP, type ClusterNetwork, type NodeNetwork } from './network.js';
import { createPki, type Pki } from './pki.js';
import { createCgroup, startComponent, type ComponentProcess } from './processes.js';
import { kubeProxyUnsynced, missingServiceRules, silentLoadBalancers, unprogrammedPods } from './readiness.js';
import { runCommand } from './run-command.js';
import { applyOrder, objectKey, planSeed, withPlacement, type SeedPlan } from './seed.js';

const RELAY = fileURLToPath(new URL('./relay.cjs', import.meta.url));
export const STATE_TIMEOUT_MS = 180_000;

/** Where a component runs: a node's or the control plane's network namespace, a node's mounts, extra env. */
export type Where = { netns?: string; mountNamespaceOf?: number; privateMounts?: string[]; env?: Record<string, string> };

/** The root namespace's end of the API relay: 127.0.0.1:<port> → unix socket → the API server in the control plane. */
export interface ApiRelay {
  server: Server;
  port: number;
  sockets: Set<Socket>;
}

/** What the phases share. Fields marked "set by" are written by that phase and read only by later ones. */
export class StartingCluster {
  readonly processes: ComponentProcess[] = [];
  /** Each node's containerd: its PID is the mount namespace the node's kubelet, kube-proxy and kube-router join. */
  readonly nodeRuntime = new Map<string, ComponentProcess>();
  readonly kubeRouters = new Map<string, ComponentProcess>();
  readonly logDir: string;
  /** Set by certificatesAndApiServer. */
  pki!: Pki;
  apiServer!: ComponentProcess;
  relay?: ApiRelay;
  /** The admin kubeconfig (127.0.0.1 through the relay) and clients built from it. */
  admin!: string;
  kc!: k8s.KubeConfig;
  core!: k8s.CoreV1Api;
  /** Set by clusterDns: the seed is planned first, so that CoreDNS runs where the manifests place it. */
  seed?: SeedPlan;
  /** Set by images. */
  images: ImageArchive[] = [];
  /** Set by nodes: kube-router's credentials, for the nodes that enforce now or later (setEnforcement). */
  routerKubeconfig!: string;
  /** Set by loadBalancers. */
  lbController?: LoadBalancerController;

  constructor(
    readonly dir: string,
    readonly cgroup: string,
    readonly net: ClusterNetwork,
    readonly components: Components,
    readonly cniName: CniName,
    readonly cni: CniPlugin,
    /** The nodes whose kube-router enforces policies from the start (kube-router CNI only). */
    readonly initialEnforcement: ReadonlySet<string>,
    readonly manifests: string[] | undefined,
    readonly progress: (line: string) => void,
  ) {
    this.logDir = join(dir, 'logs');
  }

  /** The API server URL inside the cluster's namespaces (kubelets, kube-proxy, CNI agents). */
  get inCluster(): string {
    return `https://${CONTROL_PLANE_IP}:${API_PORT}`;
  }

  /** The API server URL for the controllers beside it in the control plane's namespace. */
  get local(): string {
    return `https://127.0.0.1:${API_PORT}`;
  }

  /** The URL every client outside the cluster's namespaces uses (the relay's port). */
  get server(): string {
    return `https://127.0.0.1:${this.relay!.port}`;
  }

  start(name: string, argv: string[], where: Where = {}): ComponentProcess {
    const p = startComponent(name, argv, { cgroup: `${this.cgroup}/system`, logDir: this.logDir, ...where });
    this.processes.push(p);
    return p;
  }

  /** Started again when it exits on its own, as the kubelet restarts kubeadm's static control-plane pods. */
  supervise(name: string, argv: string[], where: Where = {}, stopping: () => boolean): void {
    const watch = (p: ComponentProcess): void => {
      void p.exited.then(() => {
        if (stopping()) return;
        setTimeout(() => stopping() || watch(this.start(name, argv, where)), 1_000);
      });
    };
    watch(this.start(name, argv, where));
  }

  /** argv of one of the Kubernetes binaries (components.kube is the multi-call binary). */
  kube(component: string, args: string[]): string[] {
    return [this.components.kube, component, ...args.slice(1)];
  }

  startApiServer(): ComponentProcess {
    return (this.apiServer = this.start('kube-apiserver', this.kube('kube-apiserver', apiServerArgs(this.pki)), { netns: this.net.controlPlane }));
  }

  startKubeRouter(node: NodeNetwork): void {
    const argv = [this.components.kubeRouter, ...kubeRouterArgs(node, this.routerKubeconfig)];
    this.kubeRouters.set(node.name, this.start(`kube-router-${node.name}`, argv, { netns: node.netns, mountNamespaceOf: this.nodeRuntime.get(node.name)!.pid }));
  }

  /** The exited components' last lines, for an error that would otherwise say only "not reached". */
  deadComponents(): string {
    return this.processes.filter((p) => p.child.exitCode !== null).map((p) => `${p.name} exited: ${p.tail(3)}`).join('; ');
  }

  /**
   * Objects go in through kubectl, as an operator's would: client-node's typed serializer drops fields whose
   * model names differ from the wire names (a NetworkPolicy rule's `from` is `_from` there), which once turned every
   * seeded ingress rule into "allow from anywhere". CustomResourceDefinitions first, and Established, as Helm
   * installs a chart's crds/: objects of their kinds in the same list would otherwise find no REST mapping
   * (Calico's IP pools beside its CRDs).
   */
  async apply(list: Record<string, unknown>[]): Promise<void> {
    const kubectlApply = (items: Record<string, unknown>[]) =>
      runCommand(['kubectl', '--kubeconfig', this.admin, 'apply', '--server-side', '--field-manager=netcheck-cluster', '--force-conflicts', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
    const crds = list.filter((o) => o.kind === 'CustomResourceDefinition');
    if (crds.length > 0) {
      await kubectlApply(crds);
      const names = crds.map((o) => `crd/${(o.metadata as { name: string }).name}`);
      await runCommand(['kubectl', '--kubeconfig', this.admin, 'wait', '--for=condition=Established', `--timeout=${STATE_TIMEOUT_MS / 1000}s`, ...names]);
    }
    const rest = list.filter((o) => o.kind !== 'CustomResourceDefinition');
    if (rest.length > 0) await kubectlApply(rest);
  }
}

export interface StartPhase {
  /** The progress line, or undefined for a phase that prints its own (one per node). */
  title(s: StartingCluster): string | undefined;
  run(s: StartingCluster, stopping: () => boolean): Promise<void>;
  /** After this phase every process that opens inotify instances has (host-capacity.ts): the next start may measure. */
  readonly inotifyTaken?: true;
}

const network: StartPhase = {
  title: (s) => `network: ${s.net.namespaces.length} namespaces (${s.net.namespaces.join(', ')})`,
  async run(s) {
    createCgroup(`${s.cgroup}/system`);
    await createNetwork(s.net, { podRoutes: s.cni.fabricPodRoutes, nodeDefaultRoute: s.cni.nodeDefaultRoute });
  },
};

const certificatesAndApiServer: StartPhase = {
  title: () => 'control plane: etcd, kube-apiserver',
  async run(s) {
    s.pki = await createPki(join(s.dir, 'pki'), {
      ips: ['127.0.0.1', CONTROL_PLANE_IP, KUBERNETES_SERVICE_IP],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    });
    s.start('etcd', s.kube('etcd', etcdArgs(join(s.dir, 'etcd'))), { netns: s.net.controlPlane });
    const apiSocket = join(s.dir, 'api.sock');
    s.start('api-relay', [process.execPath, RELAY, 'unix-to-tcp', apiSocket, `127.0.0.1:${API_PORT}`], { netns: s.net.controlPlane });
    s.startApiServer();
    s.relay = await relayToSocket(apiSocket);
    s.admin = await s.pki.kubeconfig('admin', { user: 'kubernetes-admin', groups: ['system:masters'] }, s.server);
    s.kc = new k8s.KubeConfig();
    s.kc.loadFromFile(s.admin);
    s.core = s.kc.makeApiClient(k8s.CoreV1Api);
    await waitUntil('API server healthy', async () => ((await s.core.listNamespace()).items.some((n) => n.metadata?.name === 'kube-system') ? true : undefined), STATE_TIMEOUT_MS, () => s.apiServer.tail(5));
    // The outside host reaches the API at the same URL as the root namespace, so one kubeconfig serves both.
    s.start('outside-api-relay', [process.execPath, RELAY, 'tcp-to-unix', `127.0.0.1:${s.relay.port}`, apiSocket], { netns: s.net.outsideHost });
  },
};

const controllers: StartPhase = {
  title: () => 'control plane: kube-controller-manager, kube-scheduler',
  async run(s, stopping) {
    const cm = await s.pki.kubeconfig('controller-manager', { user: 'system:kube-controller-manager' }, s.local);
    const scheduler = await s.pki.kubeconfig('scheduler', { user: 'system:kube-scheduler' }, s.local);
    // They read the API server's bootstrap RBAC and its authentication ConfigMap at start (kubeadm's static pods
    // would crash-loop until then): wait for the post-start hooks' objects.
    const rbac = s.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await waitUntil(
      'API server bootstrap RBAC',
      async () => {
        await rbac.readNamespacedRoleBinding({ name: 'system::extension-apiserver-authentication-reader', namespace: 'kube-system' });
        await rbac.readClusterRoleBinding({ name: 'system:kube-controller-manager' });
        await s.core.readNamespacedConfigMap({ name: 'extension-apiserver-authentication', namespace: 'kube-system' });
        return true;
      },
      STATE_TIMEOUT_MS,
    );
    s.supervise('kube-controller-manager', s.kube('kube-controller-manager', controllerManagerArgs(s.pki, cm)), { netns: s.net.controlPlane }, stopping);
    s.supervise('kube-scheduler', s.kube('kube-scheduler', schedulerArgs(scheduler)), { netns: s.net.controlPlane }, stopping);
  },
};

const clusterDns: StartPhase = {
  title: () => 'cluster DNS: CoreDNS behind Service kube-system/kube-dns',
  async run(s) {
    if (s.cniName === 'kube-router') await s.apply(kubeRouterRbac('kube-router'));
    const image = corednsImage(s.components.versions.coredns);
    const provided = new Set(coreDnsObjects(image).map((o) => objectKey(o as Record<string, any>)));
    if (s.manifests !== undefined && s.manifests.length > 0) s.seed = planSeed(readManifests(s.manifests), provided);
    await s.apply(withPlacement(coreDnsObjects(image), s.seed?.placement ?? {}));
  },
};

const images: StartPhase = {
  title: (s) => `images: node, listener, coredns, pause${s.cniName === 'kube-router' ? '' : `, ${s.cniName}`}`,
  async run(s) {
    const imagesDir = join(s.components.cacheDir, 'images');
    s.images = [
      ...(await buildImages(imagesDir, { coredns: s.components.coredns, pause: s.components.pause, corednsVersion: s.components.versions.coredns })),
      ...(await s.cni.images({ components: s.components, imagesDir, network: s.net })),
    ];
  },
};

/** Per node: containerd, kubelet and kube-proxy in the node's network namespace and private mounts. */
const nodes: StartPhase = {
  title: () => undefined,
  async run(s) {
    const proxyKubeconfig = await s.pki.kubeconfig('kube-proxy', { user: 'system:kube-proxy' }, s.inCluster);
    s.routerKubeconfig = await s.pki.kubeconfig('kube-router', { user: 'kube-router' }, s.inCluster);
    for (const node of s.net.nodes) {
      s.progress(`${node.name}: containerd, kubelet, kube-proxy${s.initialEnforcement.has(node.name) ? ', kube-router' : ''} (${node.ip}, pods ${node.podCIDR})`);
      const nodeDir = join(s.dir, node.name);
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
      const kitCniConfig = s.cni.nodeConfig(node, nodeDir);
      if (kitCniConfig !== undefined) writeFileSync(kitCniConfig.file, kitCniConfig.content);
      writeFileSync(join(nodeDir, 'resolv.conf'), '');
      // containerd and the kubelet share a private mount namespace whose /run, /var/lib and /var/log are the
      // node's own directories: the paths they insist on (pod network namespaces under /run/netns, runc's state,
      // CNI's cache, /var/log/containers) land there, never on the machine.
      const runtime = s.start(`containerd-${node.name}`, ['containerd', '--config', join(nodeDir, 'containerd.toml')], {
        netns: node.netns,
        privateMounts: [`mount --bind ${join(nodeDir, 'run')} /run`, `mount --bind ${join(nodeDir, 'var-lib')} /var/lib`, `mount --bind ${join(nodeDir, 'var-log')} /var/log`],
      });
      s.nodeRuntime.set(node.name, runtime);
      await waitUntil(`${node.name} containerd socket`, async () => (existsSync(socket) ? true : undefined), 30_000, () => runtime.tail(5));
      await importImages(s.images, ['--address', socket], ['nsenter', `--mount=/proc/${runtime.pid}/ns/mnt`]);
      const kubeletKubeconfig = await s.pki.kubeconfig(`kubelet-${node.name}`, { user: `system:node:${node.name}`, groups: ['system:nodes'] }, s.inCluster);
      const kubeletConfigPath = join(nodeDir, 'kubelet.yaml');
      createCgroup(`${s.cgroup}/${node.name}`);
      writeFileSync(kubeletConfigPath, kubeletConfig(s.pki, node, { rootDir: join(nodeDir, 'kubelet'), socket, resolvConf: join(nodeDir, 'resolv.conf'), cgroupRoot: `/${s.cgroup}/${node.name}` }));
      s.start(`kubelet-${node.name}`, s.kube('kubelet', kubeletArgs(node, kubeletConfigPath, kubeletKubeconfig, join(nodeDir, 'kubelet'))), { netns: node.netns, mountNamespaceOf: runtime.pid });
      const proxyConfig = join(nodeDir, 'kube-proxy.yaml');
      writeFileSync(proxyConfig, kubeProxyConfig(node, proxyKubeconfig));
      s.start(`kube-proxy-${node.name}`, s.kube('kube-proxy', kubeProxyArgs(proxyConfig)), { netns: node.netns, mountNamespaceOf: runtime.pid });
    }
  },
};

/** Each node registered with its pod CIDR; kube-router started where it enforces from the start. */
const nodeRegistration: StartPhase = {
  title: () => 'nodes: registered, pod CIDRs assigned',
  inotifyTaken: true,
  async run(s) {
    for (const node of s.net.nodes) {
      await waitUntil(`${node.name} registered`, async () => ((await s.core.listNode()).items.some((n) => n.metadata?.name === node.name) ? true : undefined), STATE_TIMEOUT_MS, () => s.processes.find((p) => p.name === `kubelet-${node.name}`)!.tail(5));
      // What the node IPAM controller would write; kube-router reads a node's pod CIDR from here.
      await s.core.patchNode({ name: node.name, body: { spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      if (!s.initialEnforcement.has(node.name)) continue;
      // kube-router's sync restores the whole filter table from an iptables-save it took before (kube-router#1248,
      // #1372): jumps kube-proxy adds in between vanish, its first sync fails, and kube-proxy retries that one only
      // at the next Service or endpoint change (it runs outside its retrying runner). So kube-proxy goes first.
      let unsynced: string[] = [];
      await waitUntil(
        `${node.name} kube-proxy's first sync`,
        async () => ((unsynced = await kubeProxyUnsynced(node)).length === 0 ? true : undefined),
        STATE_TIMEOUT_MS,
        () => `still missing: ${unsynced.join('; ')}; ${s.processes.find((p) => p.name === `kube-proxy-${node.name}`)!.tail(3)}`,
      );
      s.startKubeRouter(node);
    }
  },
};

const cniDaemonSets: StartPhase = {
  title: (s) => (s.cni.daemonSets.length === 0 ? undefined : `${s.cniName}: ${s.cni.daemonSets.map((d) => `DaemonSet ${d.namespace}/${d.name}`).join(', ')}`),
  async run(s) {
    const objects = s.cni.objects({ components: s.components, imagesDir: join(s.components.cacheDir, 'images'), network: s.net });
    if (objects.length > 0) await s.apply(objects);
  },
};

const loadBalancers: StartPhase = {
  title: () => undefined,
  async run(s) {
    s.lbController = startLoadBalancerController(s.kc, s.net, s.progress);
  },
};

const seedManifests: StartPhase = {
  title: (s) => (s.seed === undefined ? undefined : `seed: ${s.manifests!.join(', ')}`),
  async run(s) {
    const plan = s.seed;
    if (plan === undefined) return;
    if (plan.replacedImages.length > 0) s.progress(`seed: workload images replaced by ${LISTENER_IMAGE} (listens on each container's declared ports): ${plan.replacedImages.join(', ')}`);
    if (plan.keptFromCluster.length > 0) s.progress(`seed: the cluster's own ${plan.keptFromCluster.join(', ')} kept (the manifests describe it)`);
    try {
      await s.apply(applyOrder(plan.objects));
    } catch (err) {
      throw new Error(`seed: kubectl apply of ${s.manifests!.join(', ')} failed: ${(err as Error).message}`);
    }
  },
};

const ready: StartPhase = {
  title: () => 'waiting: nodes and workloads Ready, kube-proxy rules, CoreDNS answering from every node, LoadBalancers answering',
  run: (s) => waitForReady(s),
};

const policiesProgrammed: StartPhase = {
  title: (s) => (s.initialEnforcement.size === 0 ? undefined : 'waiting: kube-router has programmed every policy-selected pod'),
  run: (s) => waitForPolicySync(s.kc, s.net.nodes.filter((n) => s.initialEnforcement.has(n.name))),
};

/** In order; each phase reads only what earlier ones set. */
export const START_PHASES: readonly StartPhase[] = [
  network,
  certificatesAndApiServer,
  controllers,
  clusterDns,
  images,
  nodes,
  nodeRegistration,
  cniDaemonSets,
  loadBalancers,
  seedManifests,
  ready,
  policiesProgrammed,
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, explain?: () => string): Promise<T> {
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

function relayToSocket(socket: string): Promise<ApiRelay> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(socket);
    for (const end of [client, upstream]) {
      sockets.add(end);
      end.on('close', () => sockets.delete(end));
      end.on('error', () => (end === client ? upstream : client).destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, sockets }));
  });
}

/** Nodes Ready, CoreDNS answering at the kube-dns Service IP, every seeded workload's pods Ready. */
async function waitForReady(s: StartingCluster): Promise<void> {
  const { kc, net } = s;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const dead = (): string => s.deadComponents();
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
        ...statefulSets.items.filter((x) => (x.status?.readyReplicas ?? 0) < (x.spec?.replicas ?? 1)),
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
export async function waitForPolicySync(kc: k8s.KubeConfig, nodes: NodeNetwork[]): Promise<void> {
  let missing: string[] = [];
  await waitUntil('kube-router: every policy-selected pod programmed', async () => ((missing = await unprogrammedPods(kc, nodes)).length === 0 ? true : undefined), STATE_TIMEOUT_MS, () => `still missing: ${missing.join('; ')}`);
}
