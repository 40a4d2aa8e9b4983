/**
 * A real cluster with `cni: 'flannel'`: flanneld from kube-flannel-ds on every node, VXLAN between the nodes and
 * no other path for pod traffic (no fabric routes), DNS through CoreDNS wherever it runs, LoadBalancer addresses
 * from the outside host, and no NetworkPolicy enforcement. Observed with kubectl, iproute2 inside the nodes'
 * namespaces, and real pods connecting to each other.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterSkipReason, startListenerPod, useCluster } from './cluster-fixture.js';
import type { RunningCluster } from './cluster.js';
import { nodeHostPath } from './configs.js';
import { FLANNEL_DAEMONSET, FLANNEL_NAMESPACE } from './flannel.js';
import { NODE_IMAGE } from './images.js';
import { CONTROL_PLANE_IP } from './network.js';
import { runCommand } from './run-command.js';

const skip = clusterSkipReason();
if (skip !== undefined) console.warn(`flannel cluster: skipped — ${skip}`);

const NS = 'flannel-test';

/** A client pod's script: resolve a name through the pod's resolv.conf, then connect to an address; one JSON line. */
const CLIENT = `
const { promises: dns } = require('node:dns');
const net = require('node:net');
const [name, host, port] = process.argv.slice(1);
const conf = require('node:fs').readFileSync('/etc/resolv.conf', 'utf8');
const server = /^nameserver\\s+(\\S+)/m.exec(conf)[1];
const resolver = new dns.Resolver({ timeout: 2000, tries: 3 });
resolver.setServers([server]);
const connect = () => new Promise((resolve) => {
  const socket = net.connect({ host, port: Number(port), timeout: 5000 });
  socket.on('connect', () => { socket.destroy(); resolve('connected'); });
  socket.on('timeout', () => { socket.destroy(); resolve('timeout'); });
  socket.on('error', (e) => resolve(e.code));
});
(async () => {
  const resolved = await resolver.resolve4(name).catch((e) => [e.code]);
  console.log(JSON.stringify({ resolved, connect: await connect() }));
})();
`;

describe.skipIf(skip !== undefined)('a Flannel cluster (cni: flannel)', { timeout: 300_000 }, () => {
  const cluster = useCluster({ cni: 'flannel', manifests: ['scenarios/financial-ml/manifests'] });
  let c: RunningCluster;
  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const inNode = async (node: string, argv: string[]): Promise<string> => (await runCommand(c.nodeArgv(node, argv))).stdout;
  const txPackets = async (node: string): Promise<number> => {
    const [link] = JSON.parse(await inNode(node, ['ip', '-s', '-j', 'link', 'show', 'flannel.1'])) as Array<{ stats64: { tx: { packets: number } } }>;
    return link!.stats64.tx.packets;
  };
  /** Runs CLIENT in a pod pinned to `node`; its JSON line once it has succeeded. */
  const client = async (name: string, node: string, args: string[]): Promise<{ resolved: string[]; connect: string }> => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName: node, restartPolicy: 'Never', containers: [{ name: 'client', image: NODE_IMAGE, command: ['node', '-e', CLIENT, ...args] }] } };
    await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, 'apply', '-f', '-'], { input: JSON.stringify(pod) });
    await kubectl('wait', '-n', NS, `pod/${name}`, '--for=jsonpath={.status.phase}=Succeeded', '--timeout=120s');
    const line = (await kubectl('logs', '-n', NS, name)).trim();
    await kubectl('delete', '-n', NS, 'pod', name, '--wait=false');
    return JSON.parse(line) as { resolved: string[]; connect: string };
  };

  beforeAll(() => {
    c = cluster();
  });

  it('kube-flannel-ds runs one Running pod per node in kube-flannel; each node carries flannel\'s VXLAN annotations and its subnet.env', async () => {
    expect(c.cni).toBe('flannel');
    const pods = (await kubectl('get', 'pods', '-n', FLANNEL_NAMESPACE, '-o', 'wide', '--no-headers')).trim().split('\n');
    const byNode = pods.map((l) => l.split(/\s+/)).map((f) => `${f[0]!.replace(/-[a-z0-9]{5}$/, '')} ${f[2]} ${f[6]}`);
    expect(byNode.sort()).toEqual(c.nodes.map((n) => `${FLANNEL_DAEMONSET} Running ${n.name}`));
    for (const node of c.nodes) {
      const annotations = JSON.parse(await kubectl('get', 'node', node.name, '-o', 'jsonpath={.metadata.annotations}')) as Record<string, string>;
      expect(annotations['flannel.alpha.coreos.com/backend-type']).toBe('vxlan');
      expect(annotations['flannel.alpha.coreos.com/public-ip']).toBe(node.ip);
      expect(JSON.parse(annotations['flannel.alpha.coreos.com/backend-data']!)).toMatchObject({ VNI: 1, VtepMAC: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) });
      // The kube subnet manager took the node's spec.podCIDR (set by the kit) as its flannel subnet.
      const subnetEnv = readFileSync(nodeHostPath(c.nodeDir(node.name), '/run/flannel/subnet.env'), 'utf8');
      expect(subnetEnv).toContain(`FLANNEL_SUBNET=${node.gateway}/24`);
      expect(subnetEnv).toMatch(/FLANNEL_NETWORK=10\.244\.0\.0\/16\nFLANNEL_SUBNET=\S+\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true/);
    }
  });

  it('flannel.1 on every node is a VXLAN device on eth0; each other node has its fdb entry and its pod route; the fabric routes no pod CIDR', async () => {
    for (const node of c.nodes) {
      const [link] = JSON.parse(await inNode(node.name, ['ip', '-d', '-j', 'link', 'show', 'flannel.1'])) as Array<{ mtu: number; linkinfo: { info_kind: string; info_data: { id: number; local: string; port: number; link: string } } }>;
      expect(link!.linkinfo.info_kind).toBe('vxlan');
      expect(link!.linkinfo.info_data).toMatchObject({ id: 1, local: node.ip, port: 8472, link: 'eth0' });
      expect(link!.mtu).toBe(1450);
      const fdb = await inNode(node.name, ['bridge', 'fdb', 'show', 'dev', 'flannel.1']);
      const routes = await inNode(node.name, ['ip', '-4', 'route']);
      for (const other of c.nodes.filter((n) => n.name !== node.name)) {
        const vtep = (JSON.parse(JSON.parse(await kubectl('get', 'node', other.name, '-o', 'jsonpath={.metadata.annotations}'))['flannel.alpha.coreos.com/backend-data']) as { VtepMAC: string }).VtepMAC;
        expect(fdb).toMatch(new RegExp(`^${vtep} dst ${other.ip.replaceAll('.', '\\.')} self permanent`, 'm'));
        const network = other.podCIDR.split('/')[0]!;
        expect(routes).toMatch(new RegExp(`^${other.podCIDR.replaceAll('.', '\\.')} via ${network.replaceAll('.', '\\.')} dev flannel\\.1 onlink`, 'm'));
      }
      expect(routes).not.toMatch(/^10\.244\.\S+ via 172\.30\./m);
    }
    const cpRoutes = (await runCommand(['nsenter', `--net=/run/netns/${c.network.controlPlane}`, 'ip', '-4', 'route'])).stdout;
    expect(cpRoutes).not.toMatch(/10\.244\./);
    expect(cpRoutes).toContain(CONTROL_PLANE_IP);
  });

  it('a pod on node-a reaches a pod on node-b across flannel.1 and resolves names through CoreDNS; Flannel enforces no NetworkPolicy', async () => {
    const [nodeA, nodeB] = c.nodes.map((n) => n.name) as [string, string];
    await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, 'create', 'namespace', NS]);
    const listenerIp = await startListenerPod(c, NS, nodeB);
    expect(listenerIp.startsWith(c.nodes[1]!.podCIDR.split('.').slice(0, 3).join('.'))).toBe(true);

    const before = await txPackets(nodeA);
    const first = await client('client-1', nodeA, ['kubernetes.default.svc.cluster.local', listenerIp, '8080']);
    expect(first).toEqual({ resolved: ['10.96.0.1'], connect: 'connected' });
    // The flow left node-a through the VXLAN device (the only way to node-b's pods).
    expect(await txPackets(nodeA)).toBeGreaterThan(before);

    // A policy that isolates the listener for ingress and admits nothing: Flannel has no policy engine.
    const denyAll = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: NS }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, 'apply', '-f', '-'], { input: JSON.stringify(denyAll) });
    const second = await client('client-2', nodeA, [`listener.${NS}.svc.cluster.local`, listenerIp, '8080']);
    expect(second.connect).toBe('connected');
  });

  it('the outside host reaches every LoadBalancer address (kube-proxy DNAT on node-a, then VXLAN to an endpoint on node-b) and the API, never a pod IP', async () => {
    const outside = (script: string) => runCommand(c.outsideHostArgv([process.execPath, '-e', script]));
    const get = (url: string) => `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then(async (r) => console.log(r.status, (await r.text()).trim()), (e) => console.log('error', e.cause?.code ?? e.name))`;
    // The outside host reaches LoadBalancer addresses through node-a (network.ts); MLflow moves to node-b, so its
    // traffic must cross VXLAN after kube-proxy's DNAT.
    const [nodeA, nodeB] = c.nodes.map((n) => n.name) as [string, string];
    await kubectl('patch', 'deployment', '-n', 'mlflow', 'mlflow', '-p', JSON.stringify({ spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': nodeB } } } } }));
    await kubectl('rollout', 'status', '-n', 'mlflow', 'deployment/mlflow', '--timeout=120s');
    // Until the old pod (on node-a) is gone, kube-proxy may still pick it.
    const mlflowNodes = () => kubectl('get', 'pods', '-n', 'mlflow', '-o', 'jsonpath={.items[*].spec.nodeName}');
    for (let i = 0; i < 120 && (await mlflowNodes()).trim() !== nodeB; i++) await new Promise((r) => setTimeout(r, 500));
    expect((await mlflowNodes()).trim()).toBe(nodeB);
    const before = await txPackets(nodeA);
    for (const url of ['http://192.168.1.208:5000/health', 'http://192.168.1.200:9000/', 'http://192.168.1.209:80/']) {
      expect((await outside(get(url))).stdout.trim(), url).toBe('200 ok');
    }
    expect(await txPackets(nodeA)).toBeGreaterThan(before);
    const mlflowPod = (await kubectl('get', 'pods', '-n', 'mlflow', '-o', 'jsonpath={.items[0].status.podIP}')).trim();
    expect((await outside(get(`http://${mlflowPod}:5000/health`))).stdout.trim()).toMatch(/^error (ENETUNREACH|EHOSTUNREACH|TimeoutError)/);
    expect((await runCommand(c.outsideHostArgv(['kubectl', '--kubeconfig', c.kubeconfigPath, 'get', 'ns', 'mlflow', '-o', 'name']))).stdout.trim()).toBe('namespace/mlflow');
  });
});
