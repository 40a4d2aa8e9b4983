/**
 * Configuration files and command lines of the upstream components, as kubeadm and kind write them, with
 * every path the components write pointed under the cluster's own directory.
 */
import { fileURLToPath } from 'node:url';
import { CLUSTER_CIDR, CONTROL_PLANE_IP, DNS_SERVICE_IP, SERVICE_CIDR, type NodeNetwork } from './network.js';
import { PAUSE_IMAGE } from './images.js';
import type { Pki } from './pki.js';

export const API_PORT = 6443;

/**
 * A node's CNI directories, as paths inside its private mount namespace, whose /run, /var/lib and /var/log are
 * the node's own directories (cluster.ts). Real nodes use /etc/cni/net.d and /opt/cni/bin; here those would be
 * the machine's, shared by every node (and absent), so containerd reads these and a CNI's DaemonSet mounts
 * them: the same hostPath on every node, each node's own files.
 */
export const NODE_CNI_CONF_DIR = '/var/lib/cni/net.d';
export const NODE_CNI_BIN_DIR = '/var/lib/cni/bin';
/** Where a distribution's CNI plugins are (Debian's containernetworking-plugins): linked into NODE_CNI_BIN_DIR. */
export const HOST_CNI_PLUGINS = '/usr/lib/cni';

/** The machine path of `path` as a node's processes see it (e.g. /run/flannel/subnet.env of node-a). */
export function nodeHostPath(nodeDir: string, path: string): string {
  for (const [inNode, own] of [['/var/lib', 'var-lib'], ['/var/log', 'var-log'], ['/run', 'run']] as const) {
    if (path === inNode || path.startsWith(`${inNode}/`)) return `${nodeDir}/${own}${path.slice(inNode.length)}`;
  }
  return path;
}
/** Debian's runc behind a wrapper that copes with this machine's missing CAP_SYS_RESOURCE (see the script). */
const RUNC = fileURLToPath(new URL('./runc-without-negative-oom.sh', import.meta.url));

export function etcdArgs(dataDir: string): string[] {
  return [
    'etcd',
    '--name=cp',
    `--data-dir=${dataDir}`,
    // Loopback of the control-plane namespace: only the API server talks to etcd.
    '--listen-client-urls=http://127.0.0.1:2379',
    '--advertise-client-urls=http://127.0.0.1:2379',
    '--listen-peer-urls=http://127.0.0.1:2380',
    '--initial-advertise-peer-urls=http://127.0.0.1:2380',
    '--initial-cluster=cp=http://127.0.0.1:2380',
    '--listen-metrics-urls=http://127.0.0.1:2381',
    // A test cluster's state is thrown away at teardown: fsync buys nothing and costs seconds on a busy disk.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

export function apiServerArgs(pki: Pki): string[] {
  return [
    'kube-apiserver',
    '--etcd-servers=http://127.0.0.1:2379',
    '--bind-address=0.0.0.0',
    `--secure-port=${API_PORT}`,
    `--advertise-address=${CONTROL_PLANE_IP}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--client-ca-file=${pki.caCert}`,
    `--tls-cert-file=${pki.apiServerCert}`,
    `--tls-private-key-file=${pki.apiServerKey}`,
    `--kubelet-client-certificate=${pki.kubeletClientCert}`,
    `--kubelet-client-key=${pki.kubeletClientKey}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    // As kubeadm: Node and RBAC authorization, NodeRestriction on top of the default admission plugins
    // (PodSecurity among them).
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
  ];
}

export function controllerManagerArgs(pki: Pki, kubeconfig: string): string[] {
  return [
    'kube-controller-manager',
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--cluster-cidr=${CLUSTER_CIDR}`,
    // Pod CIDRs are fixed per node by the cluster tool (node i gets 10.244.i+1.0/24), so that each node's CNI
    // configuration and the inter-node routes exist before its first pod.
    '--allocate-node-cidrs=false',
    '--leader-elect=false',
    '--controllers=*,bootstrapsigner,tokencleaner',
    '--v=1',
  ];
}

export function schedulerArgs(kubeconfig: string): string[] {
  return ['kube-scheduler', `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`, '--bind-address=127.0.0.1', '--leader-elect=false', '--v=1'];
}

/** containerd 1.6 (config version 2), everything under `dir`; CNI from the node's own conf and bin directories. */
export function containerdConfig(dir: string, socket: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${RUNC}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${NODE_CNI_BIN_DIR}"
    conf_dir = "${NODE_CNI_CONF_DIR}"
`;
}

/** The node's pod network: Debian's bridge + host-local plugins on the node's pod CIDR, no masquerade
 * (pods keep their own source address across nodes, as NetworkPolicy enforcement needs). */
export function cniConfig(node: NodeNetwork, ipamDataDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'netcheck-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: node.podCIDR, gateway: node.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDataDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export interface KubeletPaths {
  rootDir: string;
  socket: string;
  resolvConf: string;
  cgroupRoot: string;
}

export function kubeletConfig(pki: Pki, node: NodeNetwork, paths: KubeletPaths): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${pki.caCert} }
authorization: { mode: Webhook }
address: ${node.ip}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
containerRuntimeEndpoint: unix://${paths.socket}
cgroupDriver: cgroupfs
# Each kubelet of each cluster owns its own subtree: two kubelets on one machine must not share /kubepods.
cgroupRoot: ${paths.cgroupRoot}
# This kernel mounts cgroup v1 hierarchies; from 1.35 the kubelet refuses them unless told otherwise.
failCgroupV1: false
failSwapOn: false
clusterDNS: [${DNS_SERVICE_IP}]
clusterDomain: cluster.local
resolvConf: ${paths.resolvConf}
podCIDR: ${node.podCIDR}
# The machine's disk is shared with everything else: never evict test pods for it.
evictionHard: { memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 4s
maxPods: 110
# No CAP_SYS_RESOURCE here (see runc-without-negative-oom.sh): a negative score cannot be set.
oomScoreAdj: 0
`;
}

export function kubeletArgs(node: NodeNetwork, config: string, kubeconfig: string, rootDir: string): string[] {
  return ['kubelet', `--config=${config}`, `--kubeconfig=${kubeconfig}`, `--root-dir=${rootDir}`, `--cert-dir=${rootDir}/pki`, `--hostname-override=${node.name}`, `--node-ip=${node.ip}`, '--v=1'];
}

export function kubeProxyConfig(node: NodeNetwork, kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: ${kubeconfig} }
hostnameOverride: ${node.name}
bindAddress: ${node.ip}
clusterCIDR: ${CLUSTER_CIDR}
metricsBindAddress: 127.0.0.1:10249
oomScoreAdj: 0
healthzBindAddress: 127.0.0.1:10256
# conntrack limits and timeouts are machine-wide settings (nf_conntrack_max lives in the root namespace):
# zero leaves them alone.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, udpTimeout: 0s, udpStreamTimeout: 0s }
`;
}

export function kubeProxyArgs(config: string): string[] {
  return ['kube-proxy', `--config=${config}`, '--v=1'];
}

/** kube-router as the network-policy controller only: no routing (the underlay routes), no service proxy (kube-proxy). */
export function kubeRouterArgs(node: NodeNetwork, kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${node.name}`,
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--health-port=0',
    '--metrics-port=0',
    '--iptables-sync-period=5m',
    '--v=1',
  ];
}
