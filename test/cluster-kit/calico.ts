/**
 * Calico on the test cluster, run the way a platform runs it: upstream's own manifest of the pinned commit
 * (manifests/calico-vxlan.yaml of github.com/projectcalico/calico: the CRDs, RBAC, the calico-config ConfigMap,
 * DaemonSet calico-node and Deployment calico-kube-controllers; Kubernetes datastore, no etcd, no Typha),
 * applied with the few edits in editCalicoManifest (each says why), and images built from the pinned binaries
 * (build.ts) plus the tools felix execs, taken from this machine (iptables-nft, ipset, conntrack).
 *
 *   calico-node   init upgrade-ipam and install-cni (upstream's install: the calico and calico-ipam plugins into
 *                 the node's CNI bin dir, 10-calico.conflist and its kubeconfig into the node's CNI conf dir);
 *                 main: calico-node -startup, then felix (iptables data plane, nft backend), the tunnel-address
 *                 allocator, monitor-addresses, the CNI token monitor and the status reporter (see
 *                 calico-node-start.sh). VXLAN backend: no BIRD, no BGP.
 *   kube-controllers  the node controller (IPAM garbage collection), as upstream enables it.
 *
 * IP pools (calicoIpPools): one per node, its pod CIDR, selected by node name, VXLAN Always, natOutgoing. So
 * pod traffic between nodes crosses the underlay only inside VXLAN (port 4789, VNI 4096), pods on node-a get
 * 10.244.1.x as with every other CNI of the kit (the conformance fixture's ipBlock rules and faults.ts rely on
 * it), and pod traffic to addresses outside the pools is masqueraded: that is how pods reach the API server
 * in the control-plane namespace, a host that is not a node. Denied packets are DROPPED by felix (no REJECT):
 * a denied probe times out.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CalicoBinaries } from './build.js';
import { NODE_CNI_BIN_DIR, NODE_CNI_CONF_DIR } from './configs.js';
import { buildHostImage, hostToolEntries, iptablesTools, type ImageArchive, type LayerEntry } from './images.js';
import { readManifests } from './manifests.js';
import type { NodeNetwork } from './network.js';

/** The manifest a VXLAN-only Calico installation applies (calico.yaml is the BGP one). */
export const CALICO_MANIFEST = 'manifests/calico-vxlan.yaml';
/**
 * What Calico's "migrate a cluster from flannel" procedure applies instead: the same objects, with the VXLAN
 * backend and calico-node only on nodes labelled projectcalico.org/node-network-during-migration=calico. There
 * the flannel-migration controller (kube-controllers, ENABLED_CONTROLLERS=flannelmigration; manifests/
 * flannel-migration/migration-job.yaml) creates the IP pool itself from Flannel's network (block size = Flannel's
 * subnet length, each node's Flannel subnet becoming its block) and sets FelixConfiguration VXLANVNI 1 and
 * VXLANPort 8472, Flannel's; so in that mode calicoIpPools must not be applied (its pools would overlap).
 */
export const CALICO_FLANNEL_MIGRATION_MANIFEST = 'manifests/flannel-migration/calico.yaml';
export const CALICO_NAMESPACE = 'kube-system';
export const CALICO_DAEMONSET = 'calico-node';

export interface CalicoImages {
  node: string;
  cni: string;
  kubeControllers: string;
}

export function calicoImageRefs(tag: string): CalicoImages {
  return {
    node: `netcheck.local/calico-node:${tag}`,
    cni: `netcheck.local/calico-cni:${tag}`,
    kubeControllers: `netcheck.local/calico-kube-controllers:${tag}`,
  };
}

const START_SCRIPT = fileURLToPath(new URL('./calico-node-start.sh', import.meta.url));

/**
 * What felix and calico-node exec besides iptables (felix/ipsets, felix/conntrack, felix/environment's backend
 * detection, which tries ip6tables too), and /bin/sh and sleep for the start script and upstream's run scripts.
 * felix looks up `iptables-nft-restore` before `iptables-restore` (FindBestBinary): the -nft names are packed too.
 */
const NODE_TOOLS = [
  '/bin/sh',
  '/usr/bin/sleep',
  // The flannel migration controller runs its check-calico pod in this image: `for i in $(seq 1 10); ...`.
  '/usr/bin/seq',
  ...['iptables', 'ip6tables'].flatMap((t) => [`/usr/sbin/${t}-nft`, `/usr/sbin/${t}-nft-save`, `/usr/sbin/${t}-nft-restore`]),
  ...['', '-save', '-restore'].map((suffix) => `/usr/sbin/ip6tables${suffix}`),
  '/usr/sbin/ipset',
  '/usr/sbin/conntrack',
  '/usr/sbin/ip',
];

/** Upstream's node/filesystem files the image keeps: felix's config file and the services' run scripts. */
const NODE_SERVICES = ['felix', 'allocate-tunnel-addrs', 'monitor-addresses', 'node-status-reporter', 'cni'];

/** The three images of the manifest, built from the pinned binaries into `outDir`. */
export async function buildCalicoImages(outDir: string, binaries: CalicoBinaries, tag: string): Promise<ImageArchive[]> {
  const refs = calicoImageRefs(tag);
  const upstream = (path: string): string => join(binaries.source, 'node', 'filesystem', path);
  const node = await buildHostImage(outDir, {
    ref: refs.node,
    layers: [
      await nodeToolEntries(),
      [
        ...(await hostToolEntries({
          files: [
            { path: '/usr/bin/calico-node', source: binaries.node },
            { path: '/usr/sbin/start-calico-node', source: START_SCRIPT },
            { path: '/etc/calico/felix.cfg', source: upstream('etc/calico/felix.cfg') },
          ],
        })),
        // The module cache keeps no mode bits (every file 0444): the run scripts are made executable again.
        ...(await hostToolEntries({
          files: NODE_SERVICES.map((s) => ({ path: `/etc/service/available/${s}/run`, source: upstream(`etc/service/available/${s}/run`) })),
        })).map((e): LayerEntry => (e.kind === 'file' ? { ...e, mode: 0o755 } : e)),
        { kind: 'dir', path: 'tmp', mode: 0o1777 },
      ],
    ],
    cmd: ['start-calico-node'],
  });
  // As calico/cni: the plugin (calico-ipam is the same binary, chosen by argv[0]) and the installer in
  // /opt/cni/bin. Upstream's image also carries the reference plugins (portmap, bandwidth, loopback, ...);
  // here the node's CNI bin dir already holds this machine's, which the conflist's portmap and bandwidth use.
  const cni = await buildHostImage(outDir, {
    ref: refs.cni,
    layers: [
      [
        ...(await hostToolEntries({
          files: [
            { path: '/opt/cni/bin/install', source: binaries.install },
            { path: '/opt/cni/bin/calico', source: binaries.cni },
          ],
        })),
        // Upstream copies the binary; a link is one copy less in the image, and install copies its target.
        { kind: 'symlink', path: 'opt/cni/bin/calico-ipam', target: 'calico' },
      ],
    ],
    cmd: ['/opt/cni/bin/install'],
  });
  // As calico/kube-controllers: user 999 writes /status/status.json, which check-status (the probes) reads.
  // Layers here are written with uid 0, so the file is world-writable instead of owned by 999.
  const status: LayerEntry = { kind: 'file', path: 'status/status.json', mode: 0o666, size: 0, content: Buffer.alloc(0) };
  const controllers = await buildHostImage(outDir, {
    ref: refs.kubeControllers,
    layers: [
      [
        ...(await hostToolEntries({
          files: [
            { path: '/usr/bin/kube-controllers', source: binaries.kubeControllers },
            { path: '/usr/bin/check-status', source: binaries.checkStatus },
          ],
        })),
        status,
      ],
    ],
    entrypoint: ['/usr/bin/kube-controllers'],
    user: '999',
  });
  return [node, cni, controllers];
}

/** iptables as kube-proxy runs it here (its backend and extensions), felix's other tools, and /etc/protocols,
 * where iptables looks up `-p tcp` and the like. */
async function nodeToolEntries(): Promise<LayerEntry[]> {
  const iptables = await iptablesTools();
  return hostToolEntries({
    ...iptables,
    binaries: [...(iptables.binaries ?? []), ...NODE_TOOLS],
    files: [{ path: '/etc/protocols', source: '/etc/protocols' }],
  });
}

export interface CalicoManifestOptions {
  images: CalicoImages;
}

type Obj = Record<string, any>;

/** The upstream manifest's objects, read from the pinned module's source. */
export function readCalicoManifest(binaries: Pick<CalicoBinaries, 'source'>, manifest: string = CALICO_MANIFEST): Obj[] {
  const path = join(binaries.source, manifest);
  if (!existsSync(path)) throw new Error(`calico: ${path} is missing from the module source`);
  return readManifests([path]).map((m) => m.object);
}

const UPSTREAM_IMAGE = /^docker\.io\/calico\/(node|cni|kube-controllers):/;

/**
 * Upstream's objects with this cluster's edits; everything not named here is applied as upstream ships it.
 *   - images: the local builds instead of docker.io/calico/*:v3.28.5 (no registry here).
 *   - the mount-bpffs init container and its volumes (sys-fs, bpffs, nodeproc) go: they prepare the eBPF data
 *     plane ("best effort ... to not disrupt pod creation in iptables mode", says the manifest); felix runs the
 *     iptables data plane here.
 *   - the lib-modules volume goes: this machine has no /lib/modules (its kernel's modules are built in), and
 *     containerd creates a missing bind-mount source, which would write into the machine's /usr/lib. Felix only
 *     reads it for modprobe.
 *   - the CNI bin and conf hostPaths are the node's own CNI directories (configs.ts NODE_CNI_*), and
 *     install-cni is told the conf dir (CNI_NET_DIR), which it writes into the conflist's kubeconfig path.
 *   - calico-node: NO_DEFAULT_POOLS, because calicoIpPools are applied instead of the one pool calico-node
 *     would create from CALICO_IPV4POOL_CIDR (commented out upstream: 192.168.0.0/16) and CALICO_IPV4POOL_VXLAN
 *     (CrossSubnet upstream, which would route these same-subnet nodes' pods unencapsulated);
 *     FELIX_IPTABLESBACKEND=NFT, the backend kube-proxy uses here (felix's auto-detection goes by the rules it
 *     finds and may pick legacy on a fresh node).
 */
export function editCalicoManifest(objects: Obj[], { images }: CalicoManifestOptions): Obj[] {
  const out = structuredClone(objects);
  const localImage = (image: string): string => {
    const match = UPSTREAM_IMAGE.exec(image);
    if (match === null) throw new Error(`calico manifest: unexpected image ${image}`);
    return { node: images.node, cni: images.cni, 'kube-controllers': images.kubeControllers }[match[1] as 'node' | 'cni' | 'kube-controllers'];
  };
  const dropped = new Set(['sys-fs', 'bpffs', 'nodeproc', 'lib-modules']);
  for (const o of out) {
    const pod = o.kind === 'DaemonSet' || o.kind === 'Deployment' ? (o.spec.template.spec as Obj) : undefined;
    if (pod === undefined) continue;
    pod.initContainers = (pod.initContainers ?? []).filter((c: Obj) => c.name !== 'mount-bpffs');
    for (const c of [...pod.initContainers, ...pod.containers] as Obj[]) {
      c.image = localImage(c.image);
      c.volumeMounts = (c.volumeMounts ?? []).filter((m: Obj) => !dropped.has(m.name));
      if (c.name === 'install-cni') setEnv(c, 'CNI_NET_DIR', NODE_CNI_CONF_DIR);
      if (c.name === 'calico-node') {
        setEnv(c, 'NO_DEFAULT_POOLS', 'true');
        setEnv(c, 'FELIX_IPTABLESBACKEND', 'NFT');
      }
    }
    pod.volumes = (pod.volumes ?? []).filter((v: Obj) => !dropped.has(v.name));
    for (const v of pod.volumes as Obj[]) {
      if (v.name === 'cni-bin-dir') v.hostPath.path = NODE_CNI_BIN_DIR;
      if (v.name === 'cni-net-dir') v.hostPath.path = NODE_CNI_CONF_DIR;
    }
  }
  return out;
}

function setEnv(container: Obj, name: string, value: string): void {
  const env = (container.env ??= []) as Obj[];
  const existing = env.find((e) => e.name === name);
  if (existing !== undefined) {
    delete existing.valueFrom;
    existing.value = value;
  } else {
    env.push({ name, value });
  }
}

/**
 * One IP pool per node, its pod CIDR, as Calico documents assigning addresses by topology (an IPPool's
 * nodeSelector): the cluster's addressing stays what the kit plans for every CNI, and what a Flannel → Calico
 * migration keeps (its controller turns each node's Flannel subnet into a Calico block). Written as the
 * crd.projectcalico.org/v1 objects the Kubernetes datastore stores, every field given, since no Calico API
 * server is there to default them; calico-node's own default pool (natOutgoing true) is the model.
 */
export function calicoIpPools(nodes: NodeNetwork[]): Obj[] {
  return nodes.map((node) => ({
    apiVersion: 'crd.projectcalico.org/v1',
    kind: 'IPPool',
    metadata: { name: `${node.name}-ipv4` },
    spec: {
      cidr: node.podCIDR,
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Always',
      natOutgoing: true,
      disabled: false,
      disableBGPExport: false,
      nodeSelector: `kubernetes.io/hostname == "${node.name}"`,
      allowedUses: ['Workload', 'Tunnel'],
    },
  }));
}

/**
 * A projectcalico.org/v3 GlobalNetworkPolicy / NetworkPolicy as the Kubernetes datastore stores it
 * (crd.projectcalico.org/v1), which is how it reaches a cluster without Calico's API server: the v3 client
 * (libcalico-go clientv3 *networkpolicy.go) prefixes the name with its tier, "default.", and fills in `types`
 * (defaultPolicyTypesField); the spec is otherwise the same. Anything else is returned as it is.
 */
export function calicoPolicyAsStored(object: Obj): Obj {
  const kind = object.kind;
  if (object.apiVersion !== 'projectcalico.org/v3' || (kind !== 'GlobalNetworkPolicy' && kind !== 'NetworkPolicy')) return object;
  const metadata = object.metadata as Obj & { name: string };
  const spec = { ...(object.spec as Obj) };
  if (!Array.isArray(spec.types) || spec.types.length === 0) {
    const has = (k: string): boolean => Array.isArray(spec[k]) && (spec[k] as unknown[]).length > 0;
    spec.types = !has('egress') ? ['Ingress'] : !has('ingress') ? ['Egress'] : ['Ingress', 'Egress'];
  }
  const name = metadata.name.startsWith('default.') ? metadata.name : `default.${metadata.name}`;
  return { ...object, apiVersion: 'crd.projectcalico.org/v1', metadata: { ...metadata, name }, spec };
}
