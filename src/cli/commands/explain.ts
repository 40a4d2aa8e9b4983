/** `netcheck explain --manifests PATH --from NS/POD --to NS/POD|IP --port P`: why a flow is allowed or denied. */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { createPolicyEngine, describeFlow, podKey, type PolicyEngine } from '../../policy/engine.js';
import { resolveEndpoint, serviceHops, toEndpoint, type ResolvedEndpoint } from '../../policy/endpoints.js';
import type { Endpoint } from '../../policy/types.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { loadManifests, parsePortFlag, parseProtocol, withManifests, withProtocol, type ManifestArgs } from '../offline-flags.js';

interface ExplainArgs extends ManifestArgs {
  from: string;
  to: string;
  port: string;
  protocol?: string;
}

function endpointOrFail(engine: PolicyEngine, flag: string, text: string, allowAddress: boolean): Exclude<ResolvedEndpoint, { kind: 'unknown' }> {
  const resolved = resolveEndpoint(engine, text);
  if (resolved.kind === 'unknown') {
    const near = resolved.suggestions.length > 0 ? `; did you mean ${resolved.suggestions.join(', ')}?` : '';
    throw new UsageError(`${flag} ${text}: no such pod in the manifests (give NAMESPACE/POD${allowAddress ? ' or an IP address' : ''})${near}`);
  }
  return resolved;
}

export const explainCommand = defineCommand<ExplainArgs>({
  command: COMMANDS.explain.command,
  describe: COMMANDS.explain.describe,
  builder: (yargs: Argv) =>
    withProtocol(withManifests(yargs))
      .option('from', { type: 'string', demandOption: '--from NAMESPACE/POD', describe: 'source pod NAMESPACE/POD' })
      .option('to', { type: 'string', demandOption: '--to NAMESPACE/POD|IP', describe: 'destination pod NAMESPACE/POD, or an IP address' })
      .option('port', { type: 'string', demandOption: '--port NUMBER|NAME', describe: 'destination port number or name' })
      .example(
        '$0 explain -f scenarios/financial-ml/manifests --from financial-mlops-pytorch/training-controller --to financial-ml/financial-predictor --port 8080',
        'why training cannot reach serving: the policies and rules on each side',
      )
      .example('$0 explain -f k8s/ --from shop/web --to 192.168.1.208 --port 5000', 'a LoadBalancer or ClusterIP: judged toward its endpoint pods'),
  run: async (argv) => {
    const port = parsePortFlag(argv.port);
    if (port === undefined) throw new UsageError('--port: required');
    const protocol = parseProtocol(argv.protocol) ?? 'TCP';
    const { snapshot } = await loadManifests(argv.manifests);
    const engine = createPolicyEngine(snapshot);
    const from = endpointOrFail(engine, '--from', argv.from, false);
    if (from.kind !== 'pod') {
      throw new UsageError(`--from ${argv.from}: give the source as NAMESPACE/POD (an address outside the cluster is not policed)`);
    }
    const to = endpointOrFail(engine, '--to', argv.to, true);
    const source: Endpoint = { kind: 'pod', pod: from.pod };
    const lines: string[] = [];
    if (to.kind === 'service') {
      const svc = `${to.service.namespace}/${to.service.name}`;
      const hops = serviceHops(engine, to.service, port, protocol);
      lines.push(
        `${to.ip} is the ${to.via === 'loadBalancer' ? 'LoadBalancer IP' : 'ClusterIP'} of service ${svc}: from inside the cluster kube-proxy ` +
          `DNATs it to the endpoint pods before the CNI applies policy, so policy is judged toward them (an egress ipBlock naming ${to.ip} does not match).`,
      );
      if (hops.length === 0) lines.push(`service ${svc} has no ${port}/${protocol} port with endpoint pods in the manifests: nothing answers there.`);
      for (const hop of hops) {
        const dest: Endpoint = { kind: 'pod', pod: hop.pod };
        lines.push('');
        lines.push(`via endpoint ${podKey(hop.pod)} (targetPort ${hop.targetPort}):`);
        lines.push(...describeFlow(engine.evaluateFlow(source, dest, hop.targetPort, protocol), source, dest));
      }
    } else {
      const dest = toEndpoint(to);
      lines.push(...describeFlow(engine.evaluateFlow(source, dest, port, protocol), source, dest));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return ExitCode.Pass;
  },
});
