/**
 * The pod network of a test cluster, one of three, chosen per cluster (`startCluster({ cni })`, `--cni`):
 *
 *   kube-router  (the default) Debian's bridge + host-local on each node's pod CIDR, pod CIDRs routed by the fabric,
 *                kube-router's policy controller as a process per node where policies are enforced (`enforce`)
 *   flannel      flanneld as DaemonSet kube-flannel-ds, VXLAN between nodes, no NetworkPolicy (flannel.ts)
 *   calico       calico-node (felix, iptables) as a DaemonSet, VXLAN, policies dropped by felix (calico.ts)
 *
 * cluster.ts calls a CNI at these named points, in this order; everything else about a CNI lives in its file.
 */
import { CALICO_RELEASE, calicoUnavailable, type Components } from './build.js';
import { buildCalicoImages, calicoImageRefs, calicoIpPools, editCalicoManifest, readCalicoManifest, CALICO_DAEMONSET, CALICO_NAMESPACE } from './calico.js';
import { cniConfig, nodeHostPath, NODE_CNI_CONF_DIR } from './configs.js';
import { buildFlannelImage, flannelImage, flannelObjects, FLANNEL_DAEMONSET, FLANNEL_NAMESPACE } from './flannel.js';
import type { ImageArchive } from './images.js';
import type { ClusterNetwork, NodeNetwork } from './network.js';

export const CNI_NAMES = ['kube-router', 'flannel', 'calico'] as const;
export type CniName = (typeof CNI_NAMES)[number];

export interface CniContext {
  components: Components;
  /** Where images derived from the components are written (cached per components). */
  imagesDir: string;
  network: ClusterNetwork;
}

export interface CniPlugin {
  readonly name: CniName;
  /**
   * The fabric routes each node's pod CIDR to it (network.ts) only for a CNI without an overlay; an overlay CNI's
   * pod traffic between nodes must cross its own tunnels, so no other path may exist.
   */
  readonly fabricPodRoutes: boolean;
  /** Nodes get a default route (network.ts NetworkOptions.nodeDefaultRoute says why Calico needs one). */
  readonly nodeDefaultRoute: boolean;
  /** Images its pods run, imported into every node's containerd with the kit's own before the kubelet starts. */
  images(ctx: CniContext): Promise<ImageArchive[]>;
  /**
   * The CNI configuration the kit writes into a node's NODE_CNI_CONF_DIR before its kubelet starts, or undefined
   * when the CNI's DaemonSet installs its own (the node stays NotReady until it has, as on a real node).
   */
  nodeConfig(node: NodeNetwork, nodeDir: string): { file: string; content: string } | undefined;
  /** Objects applied once every node is registered with its pod CIDR (the CNI's DaemonSet, RBAC, config). */
  objects(ctx: CniContext): Record<string, unknown>[];
  /** The DaemonSets that carry it, for status lines and tests (namespace/name). */
  readonly daemonSets: ReadonlyArray<{ namespace: string; name: string }>;
}

const kubeRouter: CniPlugin = {
  name: 'kube-router',
  fabricPodRoutes: true,
  nodeDefaultRoute: false,
  images: async () => [],
  nodeConfig: (node, nodeDir) => ({
    file: `${nodeHostPath(nodeDir, NODE_CNI_CONF_DIR)}/10-netcheck.conflist`,
    content: cniConfig(node, `${nodeHostPath(nodeDir, '/var/lib')}/cni/networks`),
  }),
  // kube-router's policy controller runs as a process per node (cluster.ts, `enforce`), not as a DaemonSet.
  objects: () => [],
  daemonSets: [],
};

const flannel: CniPlugin = {
  name: 'flannel',
  fabricPodRoutes: false,
  // A Flannel cluster is the one migrated to Calico node by node (migrate.ts): its nodes must be hosts calico-node
  // works on, with the default route every real node has.
  nodeDefaultRoute: true,
  images: async ({ components, imagesDir }) => [await buildFlannelImage(imagesDir, components)],
  nodeConfig: () => undefined,
  objects: ({ components }) => flannelObjects(flannelImage(components.versions.flannel)),
  daemonSets: [{ namespace: FLANNEL_NAMESPACE, name: FLANNEL_DAEMONSET }],
};

const calicoBinaries = (components: Components): NonNullable<Components['calico']> => {
  if (components.calico === undefined) throw new Error(`cni calico: ${calicoUnavailable() ?? 'the components were built without Calico'}`);
  return components.calico;
};

const calico: CniPlugin = {
  name: 'calico',
  fabricPodRoutes: false,
  nodeDefaultRoute: true,
  images: async ({ components, imagesDir }) => buildCalicoImages(imagesDir, calicoBinaries(components), CALICO_RELEASE),
  nodeConfig: () => undefined,
  objects: ({ components, network }) => [
    ...editCalicoManifest(readCalicoManifest(calicoBinaries(components)), { images: calicoImageRefs(CALICO_RELEASE) }),
    ...calicoIpPools(network.nodes),
  ],
  daemonSets: [{ namespace: CALICO_NAMESPACE, name: CALICO_DAEMONSET }],
};

const plugins: Partial<Record<CniName, CniPlugin>> = { 'kube-router': kubeRouter, flannel, calico };

export function cniPlugin(name: CniName): CniPlugin {
  if (name === 'calico' && calicoUnavailable() !== undefined) throw new Error(`cni calico: ${calicoUnavailable()}`);
  const plugin = plugins[name];
  if (plugin === undefined) throw new Error(`cni ${name}: not available in this build of the cluster kit`);
  return plugin;
}
