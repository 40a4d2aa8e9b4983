/**
 * A real cluster with `cni: 'calico'`: calico-node (felix) from its DaemonSet on every node and
 * calico-kube-controllers, upstream's CRDs served, one IP pool per node with VXLAN Always, vxlan.calico as the
 * only path for pod traffic between nodes (no fabric routes), felix programming the nft backend kube-proxy uses,
 * and a NetworkPolicy enforced by DROP: a denied connection times out, it is never refused. Observed with
 * kubectl, iproute2 and iptables inside the nodes' namespaces, and real pods connecting to each other.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { calicoUnavailable } from './build.js';
import { CALICO_DAEMONSET, CALICO_NAMESPACE } from './calico.js';
import { clusterSkipReason, startListenerPod, useCluster } from './cluster-fixture.js';
import type { RunningCluster } from './cluster.js';
import { NODE_IMAGE } from './images.js';
import { CONTROL_PLANE_IP } from './network.js';
import { runCommand } from './run-command.js';
import { waitFor } from '../e2e/built-cli.js';

const skip = clusterSkipReason() ?? calicoUnavailable();
if (skip !== undefined) console.warn(`calico cluster: skipped — ${skip}`);

const NS = 'calico-test';

/** A client pod's script: connect to host:port, one JSON line with the outcome (connected, timeout or the errno). */
const CLIENT = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port), timeout: 3000 });
socket.on('connect', () => { socket.destroy(); console.log(JSON.stringify({ connect: 'connected' })); });
socket.on('timeout', () => { socket.destroy(); console.log(JSON.stringify({ connect: 'timeout' })); });
socket.on('error', (e) => console.log(JSON.stringify({ connect: e.code })));
`;

describe.skipIf(skip !== undefined)('a Calico cluster (cni: calico)', { timeout: 300_000 }, () => {
  const cluster = useCluster({ cni: 'calico' });
  let c: RunningCluster;
  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const inNode = async (node: string, argv: string[]): Promise<string> => (await runCommand(c.nodeArgv(node, argv))).stdout;
  const txPackets = async (node: string): Promise<number> => {
    const [link] = JSON.parse(await inNode(node, ['ip', '-s', '-j', 'link', 'show', 'vxlan.calico'])) as Array<{ stats64: { tx: { packets: number } } }>;
    return link!.stats64.tx.packets;
  };
  const client = async (name: string, node: string, host: string, port: number): Promise<string> => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { app: name } }, spec: { nodeName: node, restartPolicy: 'Never', containers: [{ name: 'client', image: NODE_IMAGE, command: ['node', '-e', CLIENT, host, String(port)] }] } };
    await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, 'apply', '-f', '-'], { input: JSON.stringify(pod) });
    await kubectl('wait', '-n', NS, `pod/${name}`, '--for=jsonpath={.status.phase}=Succeeded', '--timeout=120s');
    const line = (await kubectl('logs', '-n', NS, name)).trim();
    await kubectl('delete', '-n', NS, 'pod', name, '--wait=false');
    return (JSON.parse(line) as { connect: string }).connect;
  };

  beforeAll(() => {
    c = cluster();
  });

  it('calico-node runs one Running pod per node, calico-kube-controllers one, all Ready; the per-node IP pools are VXLAN Always', async () => {
    expect(c.cni).toBe('calico');
    const pods = (await kubectl('get', 'pods', '-n', CALICO_NAMESPACE, '-o', 'wide', '--no-headers')).trim().split('\n').map((l) => l.split(/\s+/));
    const calico = pods.filter((f) => f[0]!.startsWith('calico-')).map((f) => `${f[0]!.replace(/-[a-z0-9]{5}$/, '').replace(/-[a-z0-9]{8,10}$/, '')} ${f[1]} ${f[2]} ${f[6]}`);
    expect(calico.filter((l) => l.startsWith(`${CALICO_DAEMONSET} `)).sort()).toEqual(c.nodes.map((n) => `${CALICO_DAEMONSET} 1/1 Running ${n.name}`));
    expect(calico.filter((l) => l.startsWith('calico-kube-controllers')).map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['calico-kube-controllers 1/1 Running']);
    const pools = JSON.parse(await kubectl('get', 'ippools.crd.projectcalico.org', '-o', 'json')) as { items: Array<{ spec: { cidr: string; vxlanMode: string; ipipMode: string; natOutgoing: boolean } }> };
    expect(pools.items.map((p) => `${p.spec.cidr} ${p.spec.vxlanMode} ${p.spec.ipipMode} ${p.spec.natOutgoing}`).sort()).toEqual(c.nodes.map((n) => `${n.podCIDR} Always Never true`));
  });

  it('vxlan.calico on every node is a VXLAN device on eth0 (VNI 4096, port 4789) with each other node\'s pod routes through it; no fabric or control-plane pod routes', async () => {
    for (const node of c.nodes) {
      const [link] = JSON.parse(await inNode(node.name, ['ip', '-d', '-j', 'link', 'show', 'vxlan.calico'])) as Array<{ linkinfo: { info_kind: string; info_data: { id: number; local: string; port: number } } }>;
      expect(link!.linkinfo.info_kind).toBe('vxlan');
      expect(link!.linkinfo.info_data).toMatchObject({ id: 4096, local: node.ip, port: 4789 });
      const routes = await inNode(node.name, ['ip', '-4', 'route']);
      for (const other of c.nodes.filter((n) => n.name !== node.name)) {
        expect(routes).toMatch(new RegExp(`^${other.podCIDR.split('.').slice(0, 3).join('\\.')}\\.\\d+/\\d+ via \\S+ dev vxlan\\.calico onlink`, 'm'));
      }
      expect(routes).not.toMatch(/^10\.244\.\S+ via 172\.30\./m);
    }
    const cpRoutes = (await runCommand(['nsenter', `--net=/run/netns/${c.network.controlPlane}`, 'ip', '-4', 'route'])).stdout;
    expect(cpRoutes).not.toMatch(/10\.244\./);
    expect(cpRoutes).toContain(CONTROL_PLANE_IP);
  });

  it('felix programs the nft backend next to kube-proxy: its cali- chains are in iptables-nft\'s filter table', async () => {
    for (const node of c.nodes) {
      const rules = await inNode(node.name, ['iptables-nft-save', '-t', 'filter']);
      expect(rules).toMatch(/^:cali-FORWARD /m);
      expect(rules).toMatch(/^-A FORWARD .*-j cali-FORWARD/m);
      expect(rules).toMatch(/^:KUBE-FORWARD /m);
    }
  });

  it('a pod on node-a reaches a pod on node-b across vxlan.calico; once a policy denies it, felix drops it: the connection times out, it is not refused', async () => {
    const [nodeA, nodeB] = c.nodes.map((n) => n.name) as [string, string];
    await kubectl('create', 'namespace', NS);
    const listenerIp = await startListenerPod(c, NS, nodeB);
    expect(listenerIp.startsWith(c.nodes[1]!.podCIDR.split('.').slice(0, 3).join('.'))).toBe(true);

    const before = await txPackets(nodeA);
    expect(await client('client-1', nodeA, listenerIp, 8080)).toBe('connected');
    expect(await txPackets(nodeA)).toBeGreaterThan(before);
    // Nothing listens on 9999: the listener's kernel refuses it (the path is open).
    expect(await client('client-2', nodeA, listenerIp, 9999)).toBe('ECONNREFUSED');

    const denyAll = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: NS }, spec: { podSelector: { matchLabels: { app: 'listener' } }, policyTypes: ['Ingress'] } };
    await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, 'apply', '-f', '-'], { input: JSON.stringify(denyAll) });
    // Felix converts the policy (knp.default.deny-all) and programs node-b asynchronously: wait until the
    // listener's endpoint chain ends in the rule felix adds once a policy applies to it (felix/rules/endpoints.go:
    // DROP is felix's default IptablesFilterDenyAction). No other pod on node-b is selected by a policy.
    await waitFor('felix on node-b programs deny-all', async () => ((await inNode(nodeB, ['iptables-nft-save', '-t', 'filter'])).includes('Drop if no policies passed packet') ? true : undefined), 120);
    expect(await client('client-denied', nodeA, listenerIp, 8080)).toBe('timeout');
    // A closed port behind the policy is not refused either: the SYN is dropped before it reaches the listener.
    expect(await client('client-closed', nodeA, listenerIp, 9999)).toBe('timeout');
  });
});
