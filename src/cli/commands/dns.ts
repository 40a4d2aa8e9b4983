/**
 * `netcheck dns NAMESPACE [--as KIND/NAME | --labels k=v] [--node NODE] [--name NAME]... [-o table|json|markdown]`:
 * walk the DNS chain from a probe pod in NAMESPACE carrying the source's labels (src/run/dns-chain.ts) and print
 * each link and the verdict. Exit 0 healthy, 1 broken by a NetworkPolicy, 4 broken elsewhere (CoreDNS, its
 * Service, the data plane), 3 when the chain could not decide (its probe pod did not run), 2 bad input.
 */
import type { Argv } from 'yargs';
import type { WorkloadKind } from '../../cluster/types.js';
import type { DnsChain } from '../../model/dns-chain.js';
import { ExitCode, NetcheckError, UsageError } from '../../model/errors.js';
import { parseDurationMs } from '../../scenario/values.js';
import { defineCommand, formatError } from '../command.js';
import { COMMANDS } from './catalog.js';
import { listenForStop } from '../stop-signals.js';

interface DnsArgs {
  namespace: string;
  as?: string;
  labels?: string[];
  node?: string;
  name?: string[];
  output?: string[];
  timeout: string;
  budget: string;
  kubeconfig?: string;
  context?: string;
  image?: string;
  imagePullSecret?: string;
}

const KINDS: readonly WorkloadKind[] = ['deployment', 'statefulset', 'daemonset', 'replicaset', 'job', 'pod'];

function duration(flag: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new UsageError(`--${flag} ${value}: not a positive duration`, { hint: 'e.g. 500ms, 2s, 1m' });
  return ms;
}

/** `--labels app=serving,tier=web` (repeatable). */
export function parseLabelFlags(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of values.flatMap((v) => v.split(',')).map((p) => p.trim()).filter(Boolean)) {
    const m = /^([\w./-]+)=([\w.-]*)$/.exec(part);
    if (!m) throw new UsageError(`--labels ${part}: not key=value`, { hint: 'e.g. --labels app=serving,tier=web' });
    labels[m[1]!] = m[2]!;
  }
  return labels;
}

function parseAs(value: string): { kind: WorkloadKind; name: string } {
  const [kind, name, extra] = value.split('/');
  const k = kind?.toLowerCase() as WorkloadKind;
  if (!name || extra !== undefined || !KINDS.includes(k)) {
    throw new UsageError(`--as ${value}: not KIND/NAME`, { hint: `KIND is one of ${KINDS.join(', ')}, e.g. --as deployment/serving` });
  }
  return { kind: k, name };
}

export function dnsExitCode(chains: readonly DnsChain[]): ExitCode {
  if (chains.some((c) => c.verdict.status === 'broken' && c.verdict.link === 'policy')) return ExitCode.Mismatch;
  if (chains.some((c) => c.verdict.status === 'broken')) return ExitCode.Environment;
  if (chains.some((c) => c.verdict.status === 'undecided')) return ExitCode.Infrastructure;
  return ExitCode.Pass;
}

export const dnsCommand = defineCommand<DnsArgs>({
  command: COMMANDS.dns.command,
  describe: COMMANDS.dns.describe,
  builder: (yargs: Argv) =>
    yargs
      .positional('namespace', { type: 'string', demandOption: true, describe: 'namespace whose pods cannot resolve' })
      .option('as', { type: 'string', nargs: 1, describe: 'probe with the labels of this workload (KIND/NAME, e.g. deployment/serving)' })
      .option('labels', { type: 'string', array: true, describe: 'probe with these labels (k=v[,k=v]); default none' })
      .option('node', { type: 'string', nargs: 1, describe: 'run the probe pod on this node' })
      .option('name', { type: 'string', array: true, describe: 'a name that fails to resolve, asked too (besides kubernetes.default)' })
      .option('output', { alias: 'o', type: 'string', array: true, describe: 'table (default), json or markdown; FORMAT=FILE writes a file' })
      .option('timeout', { type: 'string', nargs: 1, default: '2s', describe: 'per-lookup timeout' })
      .option('budget', { type: 'string', nargs: 1, default: '60s', describe: 'the probe pod dies at it even if netcheck is killed' })
      .option('kubeconfig', { type: 'string', describe: 'path to the kubeconfig file' })
      .option('context', { type: 'string', describe: 'kubeconfig context to use' })
      .option('image', { type: 'string', describe: 'probe image: any image with `node` 18+' })
      .option('image-pull-secret', { type: 'string', describe: 'imagePullSecret for the probe image' })
      .conflicts('as', 'labels')
      .example('$0 dns financial-ml --as deployment/serving', 'why serving cannot resolve names: each link of the DNS chain, then the verdict')
      .example('$0 dns financial-ml --node node-b -o markdown', 'from node-b, as a Markdown report'),
  run: async (argv) => {
    const [{ parseOutputs, checkOutputFiles, writeOutputs }, { connectCluster }, { runDnsChains }, { deleteRunPods }, { newRunId }, render] = await Promise.all([
      import('../reports.js'),
      import('../../cluster/client.js'),
      import('../../run/dns-chain.js'),
      import('../../probe/cleanup.js'),
      import('../../probe/pod-spec.js'),
      import('../../report/render-dns-chain.js'),
    ]);
    const outputs = parseOutputs(argv.output ?? ['table'], { formats: ['table', 'json', 'markdown'] });
    const timeoutMs = duration('timeout', argv.timeout);
    const budgetMs = duration('budget', argv.budget);
    const labelsFlag = argv.labels !== undefined ? parseLabelFlags(argv.labels) : undefined;
    const as = argv.as !== undefined ? parseAs(argv.as) : undefined;
    await checkOutputFiles(outputs);
    const client = await connectCluster({
      ...(argv.kubeconfig !== undefined ? { kubeconfig: argv.kubeconfig } : {}),
      ...(argv.context !== undefined ? { context: argv.context } : {}),
    });
    // Every signal after the first is absorbed: the chain's probe pod must be deleted whatever arrives meanwhile.
    const stop = listenForStop({ onRepeat: (signal) => void process.stderr.write(`netcheck: ${signal} again: still deleting the probe pod\n`) });
    const runId = newRunId();
    process.stderr.write(`netcheck: dns chain ${runId}\n`);
    const namespaces = new Set<string>();
    const failures: NetcheckError[] = [];
    try {
      const labels = as ? await client.getWorkloadLabels(argv.namespace, as.kind, as.name, stop.signal) : (labelsFlag ?? {});
      const chains = await runDnsChains(
        client,
        [{
          namespace: argv.namespace,
          labels,
          ...(argv.node !== undefined ? { node: argv.node } : {}),
          ...(as ? { description: `${as.kind}/${as.name}` } : {}),
          ...(argv.name ? { names: argv.name } : {}),
        }],
        {
          runId,
          signal: stop.signal,
          deadline: Date.now() + budgetMs,
          timeoutMs,
          ...(argv.image !== undefined ? { image: argv.image } : {}),
          ...(argv.imagePullSecret !== undefined ? { imagePullSecret: argv.imagePullSecret } : {}),
          onNamespace: (ns) => namespaces.add(ns),
          onFailure: (error) => failures.push(error),
        },
      );
      await writeOutputs(outputs, {
        table: () => render.renderDnsChainText(chains),
        markdown: () => render.renderDnsChainMarkdown(chains, '##'),
        json: () => render.renderDnsChainJson(chains),
      });
      for (const f of failures) process.stderr.write(formatError(f));
      return dnsExitCode(chains);
    } finally {
      stop.dispose();
      if (namespaces.size > 0) {
        await deleteRunPods(client, runId, { namespaces: [...namespaces], signal: AbortSignal.timeout(15_000) }).catch((error: unknown) => {
          process.stderr.write(`netcheck: warning: could not delete the probe pod of ${runId} (${error instanceof Error ? error.message : String(error)}): netcheck cleanup --run ${runId}\n`);
        });
      }
    }
  },
});
