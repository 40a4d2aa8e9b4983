/**
 * What `ready` promises beyond Ready pods, read from the data plane itself, because every controller here works
 * asynchronously and a loaded machine widens each gap (a test once got ENETUNREACH for the MLflow LoadBalancer
 * right after `ready`):
 *
 * - kube-proxy, on every node, has its jumps from the built-in chains and a DNAT rule for every ready endpoint of
 *   every Service (its KUBE-SEP chains);
 * - every LoadBalancer address a Service asks for answers from the outside host: the LoadBalancer controller's
 *   route is in place, kube-proxy on the node it leads to has the address's rule for each port, and a connection
 *   gets an answer from the cluster, not a routing error (connected, or refused by kube-proxy or the enforcer; a
 *   policy that drops it times out, which is an answer too);
 * - kube-router, on every enforcing node, has programmed every pod there: the pod's jump rule, with its current
 *   IP, into its firewall chain, and that chain runs through every policy selecting it (kube-router's
 *   pkg/controllers/netpol/pod.go: "rule to jump traffic destined to|from POD name:N namespace: NS", "run through
 *   nw policy NAME"). kube-router rewrites all of it, ipsets included, in one full sync, so rules that show every
 *   pod with its policies come from a sync that saw them all.
 *
 * Each check returns what is still missing (empty: done), so a timeout says exactly what never appeared.
 */
import * as k8s from '@kubernetes/client-node';
import { requestedAddresses } from './loadbalancer.js';
import type { ClusterNetwork, NodeNetwork } from './network.js';
import { runCommand } from './run-command.js';

/** The argv that runs `argv` in a namespace of the cluster (a node's, or the outside host's). */
type InNetns = (netns: string, argv: string[]) => string[];

const inNetns: InNetns = (netns, argv) => ['nsenter', `--net=/run/netns/${netns}`, ...argv];

async function iptablesSave(netns: string, table: 'nat' | 'filter'): Promise<string[]> {
  return (await runCommand(inNetns(netns, ['iptables-save', '-t', table]))).stdout.split('\n');
}

/** Services kube-proxy programs: not headless, not ExternalName, not left to another proxy. */
function proxied(service: k8s.V1Service): boolean {
  const labels = service.metadata?.labels ?? {};
  return service.spec?.type !== 'ExternalName' && service.spec?.clusterIP !== 'None' && labels['service.kubernetes.io/service-proxy-name'] === undefined && labels['service.kubernetes.io/headless'] === undefined;
}

/**
 * The jumps from the built-in chains that kube-proxy's full sync makes one iptables command at a time before its
 * iptables-restore (pkg/proxy/iptables/proxier.go, iptablesJumpChains), as [table, chain, target]: without them
 * its Service rules exist but no packet reaches them.
 */
const KUBE_PROXY_JUMPS = [
  ['filter', 'FORWARD', 'KUBE-SERVICES'],
  ['filter', 'OUTPUT', 'KUBE-SERVICES'],
  ['filter', 'FORWARD', 'KUBE-FORWARD'],
  ['nat', 'OUTPUT', 'KUBE-SERVICES'],
  ['nat', 'PREROUTING', 'KUBE-SERVICES'],
  ['nat', 'POSTROUTING', 'KUBE-POSTROUTING'],
] as const;

/**
 * What kube-proxy's full sync has not left on a node yet: a jump (KUBE_PROXY_JUMPS), or the rule its restore
 * always ends nat KUBE-SERVICES with (present only once a restore, which follows the jumps, succeeded).
 */
export async function kubeProxyUnsynced(node: Pick<NodeNetwork, 'name' | 'netns'>): Promise<string[]> {
  const tables = { nat: await iptablesSave(node.netns, 'nat'), filter: await iptablesSave(node.netns, 'filter') };
  const missing = KUBE_PROXY_JUMPS.filter(([table, from, to]) => !tables[table].some((l) => l.startsWith(`-A ${from} `) && l.endsWith(` -j ${to}`))).map(
    ([table, from, to]) => `${node.name}: kube-proxy's jump ${table} ${from} → ${to}`,
  );
  if (!tables.nat.some((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes('NOTE: this must be the last rule in this chain'))) {
    missing.push(`${node.name}: kube-proxy's first iptables-restore`);
  }
  return missing;
}

/**
 * Every node's kube-proxy jumps (kubeProxyUnsynced), then every ready endpoint of every proxied Service without its
 * DNAT rule on a node, as `node: ns/svc → ip:port`.
 */
export async function missingServiceRules(kc: k8s.KubeConfig, net: ClusterNetwork): Promise<string[]> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const [services, slices] = await Promise.all([core.listServiceForAllNamespaces(), discovery.listEndpointSliceForAllNamespaces()]);
  const wanted = new Set(services.items.filter(proxied).map((s) => `${s.metadata!.namespace}/${s.metadata!.name}`));
  const endpoints = slices.items.flatMap((slice) => {
    const service = `${slice.metadata?.namespace}/${slice.metadata?.labels?.['kubernetes.io/service-name']}`;
    if (slice.addressType !== 'IPv4' || !wanted.has(service)) return [];
    const ready = (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses);
    return (slice.ports ?? []).flatMap((p) => ready.map((ip) => ({ service, target: `${ip}:${p.port}` })));
  });
  const missing: string[] = [];
  for (const node of net.nodes) missing.push(...(await kubeProxyUnsynced(node)));
  for (const node of net.nodes) {
    const dnat = (await iptablesSave(node.netns, 'nat')).filter((l) => l.includes(' -j DNAT '));
    for (const { service, target } of endpoints) {
      const named = (l: string): boolean => l.includes(`"${service}"`) || l.includes(`"${service}:`);
      if (!dnat.some((l) => named(l) && l.includes(`--to-destination ${target}`))) missing.push(`${node.name}: ${service} → ${target}`);
    }
  }
  return missing;
}

/** Node's script: one TCP connection per `ip:port` argument, printing `ip:port outcome` for each. */
const CONNECT = `
const net = require('node:net');
for (const target of process.argv.slice(1)) {
  const [host, port] = target.split(':');
  const socket = net.connect({ host, port: Number(port) });
  const done = (outcome) => { socket.destroy(); console.log(target + ' ' + outcome); };
  socket.setTimeout(1000, () => done('timeout'));
  socket.on('connect', () => done('connected'));
  socket.on('error', (e) => done(e.code ?? String(e)));
}
`;

const ROUTING_ERRORS = new Set(['ENETUNREACH', 'EHOSTUNREACH']);

/** Every requested LoadBalancer address and port that does not answer from the outside host yet, with why. */
export async function silentLoadBalancers(kc: k8s.KubeConfig, net: ClusterNetwork): Promise<string[]> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const services = (await core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.type === 'LoadBalancer');
  const targets = services.flatMap((s) =>
    requestedAddresses(s).flatMap((ip) => (s.spec?.ports ?? []).map((p) => ({ service: `${s.metadata!.namespace}/${s.metadata!.name}`, ip, port: p.port, protocol: p.protocol ?? 'TCP' }))),
  );
  if (targets.length === 0) return [];
  const missing: string[] = [];
  const natOf = new Map<string, string[]>();
  for (const t of targets) {
    const route = (await runCommand(['ip', '-n', net.outsideHost, '-o', 'route', 'show', 'exact', `${t.ip}/32`])).stdout;
    const via = net.nodes.find((n) => route.includes(`via ${n.ip} `));
    if (via === undefined) {
      missing.push(`${t.service} ${t.ip}: no route from the outside host`);
      continue;
    }
    // nat: its DNAT to the endpoints; filter: its REJECT when the Service has none (an answer too).
    if (!natOf.has(via.name)) natOf.set(via.name, [...(await iptablesSave(via.netns, 'nat')), ...(await iptablesSave(via.netns, 'filter'))]);
    const rule = natOf.get(via.name)!.some((l) => l.includes(`-d ${t.ip}/32 `) && l.includes(`-p ${t.protocol.toLowerCase()} `) && l.includes(`--dport ${t.port} `));
    if (!rule) missing.push(`${t.service} ${t.ip}:${t.port}/${t.protocol}: no kube-proxy rule on ${via.name}`);
  }
  if (missing.length > 0) return missing;
  const tcp = targets.filter((t) => t.protocol === 'TCP').map((t) => `${t.ip}:${t.port}`);
  if (tcp.length === 0) return [];
  const { stdout } = await runCommand(inNetns(net.outsideHost, [process.execPath, '-e', CONNECT, ...tcp]));
  return stdout.split('\n').filter((l) => ROUTING_ERRORS.has(l.split(' ')[1] ?? '')).map((l) => `${l.replace(' ', ': ')} from the outside host`);
}

/** A LabelSelector as the API's labelSelector query parameter (the API server evaluates it, not this kit). */
function selectorQuery(selector: k8s.V1LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') parts.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/**
 * Every pod on one of `nodes` that kube-router has not programmed there: v2.1 gives every pod (hostNetwork pods
 * aside) a firewall chain — through the policies selecting it, or through its default chains — so a pod without
 * one, or without one of its policies, is a pod the last full sync did not see.
 */
export async function unprogrammedPods(kc: k8s.KubeConfig, nodes: NodeNetwork[]): Promise<string[]> {
  if (nodes.length === 0) return [];
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const networking = kc.makeApiClient(k8s.NetworkingV1Api);
  const live = (pod: k8s.V1Pod): boolean =>
    pod.status?.podIP !== undefined && pod.spec?.hostNetwork !== true && pod.metadata?.deletionTimestamp === undefined && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
  const key = (pod: k8s.V1Pod): string => `${pod.metadata!.namespace}/${pod.metadata!.name}`;
  // pod → the names of the policies selecting it (the API server evaluates each podSelector).
  const selecting = new Map<string, Set<string>>();
  for (const policy of (await networking.listNetworkPolicyForAllNamespaces()).items) {
    const pods = (await core.listNamespacedPod({ namespace: policy.metadata!.namespace!, labelSelector: selectorQuery(policy.spec?.podSelector) })).items;
    for (const pod of pods.filter(live)) selecting.set(key(pod), (selecting.get(key(pod)) ?? new Set()).add(policy.metadata!.name!));
  }
  const expected = (await core.listPodForAllNamespaces()).items.filter(live).map((pod) => ({
    name: pod.metadata!.name!,
    namespace: pod.metadata!.namespace!,
    ip: pod.status!.podIP!,
    hostIP: pod.status?.hostIP ?? '',
    policies: selecting.get(key(pod)) ?? new Set<string>(),
  }));
  const missing: string[] = [];
  for (const node of nodes) {
    const rules = await iptablesSave(node.netns, 'filter');
    if (!rules.some((l) => l.startsWith(':KUBE-ROUTER-FORWARD '))) {
      missing.push(`${node.name}: kube-router's chains`);
      continue;
    }
    for (const pod of expected.filter((p) => p.hostIP === node.ip)) {
      const jump = rules.find((l) => l.includes(` POD name:${pod.name} namespace: ${pod.namespace} to chain `) && (l.includes(`-d ${pod.ip}/32 `) || l.includes(`-s ${pod.ip}/32 `)));
      const chain = jump === undefined ? undefined : / -j (KUBE-POD-FW-\S+)/.exec(jump)?.[1];
      if (chain === undefined) {
        missing.push(`${node.name}: pod ${pod.namespace}/${pod.name} (${pod.ip})`);
        continue;
      }
      const own = rules.filter((l) => l.startsWith(`-A ${chain} `));
      const absent = [...pod.policies].filter((name) => !own.some((l) => l.includes(`"run through nw policy ${name}"`)));
      if (absent.length > 0) missing.push(`${node.name}: pod ${pod.namespace}/${pod.name} without policy ${absent.join(', ')}`);
    }
  }
  return missing;
}
