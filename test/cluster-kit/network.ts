/**
 * The test cluster's network: network namespaces on an underlay bridge, as kind's nodes sit on a docker
 * network. Every address, route and sysctl is set inside namespaces created here; the root namespace is never
 * touched, and no namespace has a route out of the cluster (the seeds' 192.168.1.x LoadBalancer addresses
 * exist only inside it).
 *
 *   <prefix>-fabric   the underlay: bridge `underlay`, one veth per member, nothing routed
 *   <prefix>-cp       control plane, 172.30.0.2: etcd, kube-apiserver, controller-manager, scheduler
 *   <prefix>-node-a   node i, 172.30.0.(10+i): kubelet, containerd, kube-proxy, kube-router; pods on 10.244.(i+1).0/24
 *   <prefix>-outside  the machine netcheck runs on, 172.30.0.100: reaches the API server and LoadBalancer IPs,
 *                     never pod IPs
 */
import { readFileSync } from 'node:fs';
import { runCommand } from './run-command.js';

const UNDERLAY_PREFIX = 24;
export const CONTROL_PLANE_IP = '172.30.0.2';
export const OUTSIDE_HOST_IP = '172.30.0.100';
export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const DNS_SERVICE_IP = '10.96.0.10';

export interface NodeNetwork {
  name: string;
  netns: string;
  ip: string;
  podCIDR: string;
  /** The CNI bridge's address: the pods' default gateway. */
  gateway: string;
}

export interface ClusterNetwork {
  fabric: string;
  controlPlane: string;
  outsideHost: string;
  nodes: NodeNetwork[];
  /** Every namespace created, in creation order. */
  namespaces: string[];
}

/** Node names: node-a, node-b, ... (kind numbers workers; letters read better in per-node reports). */
function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
}

export function planNetwork(prefix: string, nodeCount: number): ClusterNetwork {
  const nodes = nodeNames(nodeCount).map((name, i) => ({
    name,
    netns: `${prefix}-${name}`,
    ip: `172.30.0.${10 + i}`,
    podCIDR: `10.244.${i + 1}.0/24`,
    gateway: `10.244.${i + 1}.1`,
  }));
  const fabric = `${prefix}-fabric`;
  const controlPlane = `${prefix}-cp`;
  const outsideHost = `${prefix}-outside`;
  return { fabric, controlPlane, outsideHost, nodes, namespaces: [fabric, controlPlane, ...nodes.map((n) => n.netns), outsideHost] };
}

/** `ip -n <netns> ...` batched through `ip -batch` (one exec per namespace). */
async function ipBatch(netns: string, lines: string[]): Promise<void> {
  await runCommand(['ip', '-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/** A sysctl inside `netns`, written through /proc/sys after entering it (sysctl -w would do the same). */
async function sysctl(netns: string, key: string, value: string): Promise<void> {
  await runCommand(['nsenter', `--net=/run/netns/${netns}`, 'sh', '-c', `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`]);
}

/** Adds a member namespace to the underlay with `ip`; its veth end in the fabric is `v-<tag>`. */
async function attach(net: ClusterNetwork, netns: string, tag: string, ip: string): Promise<void> {
  await ipBatch(net.fabric, [`link add v-${tag} type veth peer name eth0 netns ${netns}`, `link set v-${tag} master underlay up`]);
  await ipBatch(netns, ['link set lo up', `addr add ${ip}/${UNDERLAY_PREFIX} dev eth0`, 'link set eth0 up']);
}

export interface NetworkOptions {
  /**
   * Route each node's pod CIDR to it in the fabric (the bridge CNI has no overlay of its own). False for an
   * overlay CNI (Flannel, Calico VXLAN): pod traffic between nodes then exists only inside its tunnels.
   */
  podRoutes: boolean;
  /**
   * Give each node a default route (on-link through eth0: the fabric has no router, so what it catches goes
   * nowhere), as every real host has one. Calico needs it: its pods' gateway is 169.254.1.1, answered by proxy
   * ARP on the host side of each veth, and Linux answers a proxy ARP only for an address it has a route to
   * (projectcalico/calico#3270, open; "Calico needs a default gateway on the host in order for proxy_arp to
   * function", #7866).
   */
  nodeDefaultRoute?: boolean;
}

export async function createNetwork(net: ClusterNetwork, { podRoutes, nodeDefaultRoute = false }: NetworkOptions = { podRoutes: true }): Promise<void> {
  for (const ns of net.namespaces) await runCommand(['ip', 'netns', 'add', ns]);
  await ipBatch(net.fabric, ['link set lo up', 'link add underlay type bridge', 'link set underlay up']);
  await attach(net, net.controlPlane, 'cp', CONTROL_PLANE_IP);
  await attach(net, net.outsideHost, 'outside', OUTSIDE_HOST_IP);
  for (const node of net.nodes) await attach(net, node.netns, node.name, node.ip);
  // Pod traffic is routed, not NATed, between nodes (so policies see real pod IPs): every node and the control
  // plane (which answers pods calling the `kubernetes` Service) route each pod CIDR to its node. With an overlay
  // the control plane has no such route either, as on a cluster whose API server host is not a node: the CNI
  // masquerades pod traffic leaving the pod network (flannel --ip-masq, Calico's natOutgoing), so the API
  // server sees and answers the node's address.
  for (const member of podRoutes ? [net.controlPlane, ...net.nodes.map((n) => n.netns)] : []) {
    const routes = net.nodes.filter((n) => n.netns !== member).map((n) => `route add ${n.podCIDR} via ${n.ip}`);
    if (routes.length > 0) await ipBatch(member, routes);
  }
  for (const node of net.nodes) {
    // A node's own traffic to a Service IP (DNS queries, hostNetwork pods) needs a route for the Service range
    // before kube-proxy's OUTPUT DNAT rewrites it to a pod; real nodes have their default route for this.
    await ipBatch(node.netns, [`route add ${SERVICE_CIDR} dev eth0`, ...(nodeDefaultRoute ? ['route add default dev eth0'] : [])]);
    await sysctl(node.netns, 'net.ipv4.ip_forward', '1');
    // Pods on one node talk over the CNI bridge; iptables (kube-proxy's DNAT, kube-router's policy chains)
    // must see those bridged packets too.
    await sysctl(node.netns, 'net.bridge.bridge-nf-call-iptables', '1');
  }
}

/** The outside host reaches a LoadBalancer IP through a node, as a router in front of MetalLB's L2 speaker. */
export async function routeLoadBalancerIp(net: ClusterNetwork, ip: string): Promise<void> {
  const via = net.nodes[0];
  if (via === undefined) return;
  await ipBatch(net.outsideHost, [`route replace ${ip}/32 via ${via.ip}`]);
}

/** Is /run/netns a mount point (iproute2 makes it one at its first `ip netns add` and leaves it)? */
export function netnsDirMounted(): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === '/run/netns');
}

/**
 * Undoes iproute2's first-use setup of /run/netns when this cluster caused it: unmounts it once no named
 * namespace is left. A namespace created meanwhile by anyone else keeps it busy, and then it stays.
 */
export async function releaseNetnsDir(): Promise<void> {
  if (!netnsDirMounted()) return;
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  if (stdout.trim() !== '') return;
  try {
    await runCommand(['umount', '/run/netns']);
  } catch {
    // busy: someone else's namespace appeared in between; theirs to keep
  }
}

export async function deleteNetwork(namespaces: string[]): Promise<void> {
  for (const ns of namespaces) {
    try {
      await runCommand(['ip', 'netns', 'del', ns]);
    } catch {
      // already gone
    }
  }
}
