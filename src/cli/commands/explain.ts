/**
 * `netcheck explain --manifests PATH | --kubeconfig K --from SOURCE --to DEST --port P`: why a flow is allowed or
 * denied. SOURCE is NAMESPACE/POD, NAMESPACE/WORKLOAD or a client address outside the cluster (ingress rules police
 * it: ipBlock); DEST is NAMESPACE/POD, NAMESPACE/WORKLOAD or an IP (a Service's ClusterIP or LoadBalancer IP is
 * judged toward its endpoint pods, as kube-proxy DNATs before policy applies). The first line is the verdict.
 */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { cidrContains, parseAddress, parseCidr } from '../../policy/cidr.js';
import { createPolicyEngine, describeFlow, describePeer, podKey, type PolicyEngine } from '../../policy/engine.js';
import { formatDeclaredPorts, resolveEndpoint, serviceHops, toEndpoint, type ResolvedEndpoint } from '../../policy/endpoints.js';
import { resolvePort, type PortQuery } from '../../policy/ports.js';
import type { ClusterSnapshot, Endpoint, PodInfo, Protocol, ServiceInfo } from '../../policy/types.js';
import { fromNodeAddress } from '../../run/policy-view.js';
import { findNearestName } from '../../scenario/nearest-name.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { loadPolicySource, parsePortFlag, parseProtocol, withPolicySource, withProtocol, type PolicySourceArgs } from '../offline-flags.js';

interface ExplainArgs extends PolicySourceArgs {
  from: string;
  to: string;
  port: string;
  protocol?: string;
}

type Found = Exclude<ResolvedEndpoint, { kind: 'unknown' }>;

function endpointOrFail(engine: PolicyEngine, flag: string, text: string, where: string): Found {
  const resolved = resolveEndpoint(engine, text);
  if (resolved.kind === 'unknown') {
    const near = resolved.suggestions.length > 0 ? `; did you mean ${resolved.suggestions.join(', ')}?` : '';
    throw new UsageError(`${flag} ${text}: no such pod or workload ${where} (give NAMESPACE/POD, NAMESPACE/WORKLOAD or an IP address)${near}`);
  }
  return resolved;
}

/** The namespaces --from/--to name: with namespace-scoped rights these are read even if listing all is forbidden. */
function namedNamespaces(...texts: string[]): string[] {
  return texts.flatMap((t) => (t.includes('/') ? [t.slice(0, t.indexOf('/'))] : []));
}

/**
 * A port name the destination does not declare is a typo, not a verdict: one line naming what it does declare and
 * the nearest name (a service's port names on a Service IP, the pods' container port names otherwise).
 */
function checkPortName(port: PortQuery, to: Found, protocol: Protocol, text: string): void {
  if (typeof port === 'number') return;
  if (to.kind === 'address') {
    throw new UsageError(`--port ${port}: ${to.ip} is no pod or Service of the cluster, so it has no named ports; give a number`);
  }
  if (to.kind === 'service') {
    const names = to.service.ports.filter((p) => p.protocol === protocol && p.name).map((p) => p.name as string);
    if (names.includes(port)) return;
    const declared = to.service.ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol}`).join(', ');
    const near = findNearestName(port, names);
    throw new UsageError(
      `no port ${port} on service ${to.service.namespace}/${to.service.name} (it declares: ${declared || 'no ports'})${near ? `; did you mean ${near}` : ''}`,
    );
  }
  const pods = to.replicas ?? [to.pod];
  if (resolvePort(port, to.pod.ports, protocol) !== undefined) return;
  const names = [...new Set(pods.flatMap((p) => p.ports.filter((cp) => cp.protocol === protocol && cp.name).map((cp) => cp.name as string)))];
  const near = findNearestName(port, names);
  const declared = formatDeclaredPorts(pods);
  throw new UsageError(`no port ${port} on ${text} (its pods declare: ${declared || 'no ports'})${near ? `; did you mean ${near}` : ''}`);
}

/**
 * For a client outside the pod network: which ingress ipBlocks of the policies isolating `pod` hold its address.
 * Only an ipBlock (or a rule with no `from`) can admit an address; pod and namespace selectors never do.
 */
function ipBlockLines(snapshot: ClusterSnapshot, pod: PodInfo, ip: string, engine: PolicyEngine): string[] {
  const isolating = engine.isolatingPolicies(pod, 'ingress');
  if (isolating.length === 0) return [];
  const address = parseAddress(ip);
  const blocks: string[] = [];
  let open = false;
  for (const policy of snapshot.policies.filter((p) => isolating.includes(`${p.namespace}/${p.name}`))) {
    (policy.ingress ?? []).forEach((rule, index) => {
      if (!rule.from || rule.from.length === 0) open = true;
      for (const peer of rule.from ?? []) {
        if (!peer.ipBlock) continue;
        const cidr = parseCidr(peer.ipBlock.cidr);
        const excepted = (peer.ipBlock.except ?? []).some((x) => {
          const c = parseCidr(x);
          return c !== undefined && address !== undefined && cidrContains(c, address);
        });
        const holds = cidr !== undefined && address !== undefined && cidrContains(cidr, address) && !excepted;
        blocks.push(`${policy.namespace}/${policy.name} ingress[${index}] ${describePeer(peer)}: ${holds ? `admits ${ip}` : `does not hold ${ip}`}`);
      }
    });
  }
  if (blocks.length === 0) {
    return [`  ${ip} is outside the pod network, so only an ingress ipBlock${open ? ' or a rule with no `from`' : ''} can admit it, and no policy isolating ${podKey(pod)} has an ipBlock${open ? '' : ': no address outside the cluster is admitted'}.`];
  }
  return [`  ${ip} is outside the pod network, so only an ingress ipBlock${open ? ' or a rule with no `from`' : ''} can admit it (judged by the address the pod sees, after any SNAT on the way in):`, ...blocks.map((b) => `    - ${b}`)];
}

/**
 * What kube-proxy does to the source address on the way to a LoadBalancer IP, and the ingress verdict as the
 * endpoint sees it afterwards (policy-view's fromNodeAddress: the run judges the same way).
 */
function masqueradeLines(engine: PolicyEngine, snapshot: ClusterSnapshot, source: Endpoint, service: ServiceInfo, hop: { pod: PodInfo; targetPort: PortQuery }, port: PortQuery, protocol: Protocol): string[] {
  const sp = service.ports.find((p) => p.protocol === protocol && (typeof port === 'number' ? p.port === port : p.name === port));
  if (!sp) return [];
  const client = source.kind === 'pod' ? podKey(source.pod) : source.ip;
  if (service.externalTrafficPolicy === 'Local') {
    return source.kind === 'pod'
      ? []
      : [`  externalTrafficPolicy Local: kube-proxy keeps the client's address, so the ingress rules above see ${client} itself.`];
  }
  const flow = engine.evaluateFlow(source, { kind: 'pod', pod: hop.pod }, hop.targetPort, protocol);
  const judge = (node: string | undefined): string => {
    const { ingress } = fromNodeAddress(engine, snapshot, flow, hop.pod, node, sp, protocol);
    if (ingress.allowed) return ingress.reason === 'from-own-node' ? "allowed (NetworkPolicy always admits a pod's own node)" : `allowed${ingress.admittedBy[0] ? ` by ${ingress.admittedBy[0].text}` : ' (not isolated)'}`;
    return `DENIED: ${ingress.decidedBy?.text ?? `isolated by ${ingress.isolatedBy.join(', ')}, and no rule admits the node's address`}`;
  };
  const lines = [
    `  externalTrafficPolicy Cluster: kube-proxy masquerades traffic to ${service.loadBalancerIPs.join(', ') || 'the LoadBalancer IP'} to the address of the node that ` +
      `received it${source.kind === 'pod' ? ` (for a pod, its own node)` : ''}, so ${podKey(hop.pod)}'s ingress rules see that node, not ${client}` +
      `${source.kind === 'pod' ? '' : ' (the verdict above holds for externalTrafficPolicy: Local, where the client address is kept)'}. As the pod sees it:`,
  ];
  const nodes = source.kind === 'pod' ? (source.pod.node !== undefined ? [source.pod.node] : []) : snapshot.nodes.map((n) => n.name);
  if (nodes.length === 0) {
    lines.push(`    - from ${hop.pod.node !== undefined ? `its own node ${hop.pod.node}` : "the endpoint's own node"}: allowed (NetworkPolicy always admits a pod's own node)`);
    lines.push(`    - from another node (${source.kind === 'pod' ? "the source's node" : 'the node addresses'} not known ${snapshot.nodes.length === 0 ? 'from manifests' : 'here'}): ${judge(undefined)}`);
    return lines;
  }
  for (const node of nodes) {
    const address = snapshot.nodes.find((n) => n.name === node)?.addresses?.[0];
    lines.push(`    - from node ${node}${address ? ` (${address})` : ''}${node === hop.pod.node ? ", the endpoint's own node" : ''}: ${judge(node)}`);
  }
  return lines;
}

export const explainCommand = defineCommand<ExplainArgs>({
  command: COMMANDS.explain.command,
  describe: COMMANDS.explain.describe,
  builder: (yargs: Argv) =>
    withProtocol(withPolicySource(yargs))
      .option('from', {
        type: 'string',
        demandOption: '--from NAMESPACE/POD',
        describe: 'source: pod NAMESPACE/POD, workload NAMESPACE/NAME, or a client address outside the cluster',
      })
      .option('to', { type: 'string', demandOption: '--to NAMESPACE/POD|IP', describe: 'destination: pod NAMESPACE/POD, workload NAMESPACE/NAME, or an IP address' })
      .option('port', { type: 'string', demandOption: '--port NUMBER|NAME', describe: 'destination port number or name' })
      .example(
        '$0 explain -f scenarios/financial-ml/manifests --from financial-mlops-pytorch/training-controller --to financial-ml/financial-predictor --port 8080',
        'why training cannot reach serving: the policies and rules on each side',
      )
      .example('$0 explain -f k8s/ --from shop/web --to 192.168.1.208 --port 5000', 'a LoadBalancer or ClusterIP: judged toward its endpoint pods')
      .example('$0 explain --context prod --from 203.0.113.5 --to 192.168.1.209 --port 80', 'the live cluster: may this outside client reach the LoadBalancer (ipBlock rules)?'),
  run: async (argv) => {
    const port = parsePortFlag(argv.port);
    if (port === undefined) throw new UsageError('--port: required');
    const protocol = parseProtocol(argv.protocol) ?? 'TCP';
    const loaded = await loadPolicySource(argv, 'explain', namedNamespaces(argv.from, argv.to));
    const { snapshot } = loaded;
    const engine = createPolicyEngine(snapshot);
    const where = loaded.origin === 'manifests' ? 'in the manifests' : `in cluster ${loaded.context ?? ''}`.trimEnd();
    const from = endpointOrFail(engine, '--from', argv.from, where);
    if (from.kind === 'service') {
      const what = from.via === 'loadBalancer' ? 'LoadBalancer IP' : 'ClusterIP';
      throw new UsageError(`--from ${argv.from}: that is the ${what} of service ${from.service.namespace}/${from.service.name}, not where traffic comes from; give NAMESPACE/POD, NAMESPACE/WORKLOAD or the client's address`);
    }
    const to = endpointOrFail(engine, '--to', argv.to, where);
    checkPortName(port, to, protocol, argv.to);
    const source: Endpoint = from.kind === 'pod' ? { kind: 'pod', pod: from.pod } : { kind: 'address', ip: from.ip };
    const lines: string[] = [];
    for (const [text, e] of [[argv.from, from], [argv.to, to]] as const) {
      if (e.kind === 'pod' && e.replicas !== undefined) {
        lines.push(`${text} is a workload of ${e.replicas.length} pod${e.replicas.length === 1 ? '' : 's'}: judged as ${podKey(e.pod)} (its replicas share its labels${e.replicas.length > 1 ? '; an ipBlock can tell them apart by address' : ''}).`);
      }
    }
    if (to.kind === 'service') {
      const svc = `${to.service.namespace}/${to.service.name}`;
      const hops = serviceHops(engine, to.service, port, protocol);
      lines.push(
        `${to.ip} is the ${to.via === 'loadBalancer' ? 'LoadBalancer IP' : 'ClusterIP'} of service ${svc}: kube-proxy ` +
          `DNATs it to the endpoint pods before the CNI applies policy, so policy is judged toward them (an egress ipBlock naming ${to.ip} does not match).`,
      );
      if (hops.length === 0) lines.push(`service ${svc} has no ${port}/${protocol} port with endpoint pods ${where}: nothing answers there.`);
      for (const hop of hops) {
        const dest: Endpoint = { kind: 'pod', pod: hop.pod };
        lines.push('');
        lines.push(`via endpoint ${podKey(hop.pod)} (targetPort ${hop.targetPort}):`);
        lines.push(...describeFlow(engine.evaluateFlow(source, dest, hop.targetPort, protocol), source, dest));
        if (from.kind === 'address') lines.push(...ipBlockLines(snapshot, hop.pod, from.ip, engine));
        if (to.via === 'loadBalancer') lines.push(...masqueradeLines(engine, snapshot, source, to.service, hop, port, protocol));
      }
    } else if (from.kind === 'address' && to.kind === 'address') {
      lines.push(`NOT POLICED: ${from.ip} -> ${to.ip}: neither end is a pod ${where}, so no NetworkPolicy applies.`);
    } else {
      const dest = toEndpoint(to);
      lines.push(...describeFlow(engine.evaluateFlow(source, dest, port, protocol), source, dest));
      if (from.kind === 'address' && to.kind === 'pod') lines.push(...ipBlockLines(snapshot, to.pod, from.ip, engine));
    }
    if (loaded.notReadable.length > 0) {
      lines.push('', `Not readable in cluster ${loaded.context ?? ''} with these rights (the verdict may be wrong there):`);
      for (const item of loaded.notReadable) lines.push(`  - ${item}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.Pass;
  },
});
