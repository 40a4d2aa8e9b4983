/** `netcheck analyze --manifests PATH... | --kubeconfig K | --context C`: the pod-to-pod matrix the NetworkPolicies imply. */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { prepareAnalysis, type PreparedAnalysis } from '../../policy/analyze.js';
import { parsePodFocus } from '../../policy/analyze-groups.js';
import type { ClusterSnapshot, PodInfo } from '../../policy/types.js';
import { findNearestName } from '../../scenario/nearest-name.js';
import { allPods, analysisJsonChunks, analysisNdjsonChunks, analysisTableChunks, TABLE_POD_LIMIT, type AnalysisFocus } from '../../report/render-analysis.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { loadPolicySource, parsePortFlag, parseProtocol, withPolicySource, withProtocol, type PolicySourceArgs } from '../offline-flags.js';
import { writeChunks } from '../write-chunks.js';

interface AnalyzeArgs extends PolicySourceArgs {
  port?: string;
  protocol?: string;
  output: string;
  from?: string;
  to?: string;
}

type AnalyzeOutput = 'table' | 'json' | 'ndjson';

function parseAnalyzeOutput(value: string): AnalyzeOutput {
  if (value === 'table' || value === 'json' || value === 'ndjson') return value;
  throw new UsageError(`-o ${value}: unknown output format; use table, json or ndjson`);
}

/** A port name no pod declares would give an all-"no such port" matrix: almost surely a typo. */
function checkPortNameDeclared(snapshot: ClusterSnapshot, name: string, where: string): void {
  const names = [...new Set(snapshot.pods.flatMap((pod) => pod.ports.flatMap((p) => (p.name ? [p.name] : []))))].sort();
  if (names.includes(name)) return;
  const near = findNearestName(name, names);
  throw new UsageError(`--port ${name}: no pod ${where} declares a port of that name${near ? `; did you mean ${near}?` : ''}`, {
    hint: names.length > 0 ? `declared port names: ${names.join(', ')}; or give a number` : 'no pod names its ports; give a number',
  });
}

/** The pods a --from/--to/--namespace value picks; a value that picks none is a usage error naming the nearest. */
function focusPositions(prepared: PreparedAnalysis, flag: string, spec: string | undefined): number[] | undefined {
  if (spec === undefined) return undefined;
  const test = parsePodFocus(spec);
  if (typeof test === 'string') throw new UsageError(`${flag} ${spec}: ${test}`);
  const picked = prepared.pods.flatMap((pod, i) => (test(pod) ? [i] : []));
  if (picked.length === 0) {
    const names = [...new Set(prepared.pods.flatMap((p: PodInfo) => [p.namespace, `${p.namespace}/${p.name}`, ...(p.owner ? [`${p.namespace}/${p.owner}`] : [])]))];
    const near = findNearestName(spec, names);
    throw new UsageError(`${flag} ${spec}: no pod matches${near ? `; did you mean ${near}?` : ''}`, {
      hint: 'give a namespace (NS), a pod or workload (NS/NAME, NS/deployment/NAME), or a label selector (app=web,tier!=db)',
    });
  }
  return picked;
}

/** The pods of the --namespace namespaces; an unknown namespace is a usage error naming the nearest. */
function drillPositions(prepared: PreparedAnalysis, namespaces: string[]): number[] {
  const known = [...new Set(prepared.pods.map((p) => p.namespace))];
  for (const ns of namespaces) {
    if (known.includes(ns)) continue;
    const near = findNearestName(ns, known);
    throw new UsageError(`--namespace ${ns}: no pod is in that namespace${near ? `; did you mean ${near}?` : ''}`);
  }
  const wanted = new Set(namespaces);
  return prepared.pods.flatMap((pod, i) => (wanted.has(pod.namespace) ? [i] : []));
}

export const analyzeCommand = defineCommand<AnalyzeArgs>({
  command: COMMANDS.analyze.command,
  describe: COMMANDS.analyze.describe,
  builder: (yargs: Argv) =>
    withProtocol(
      withPolicySource(yargs)
        .option('port', {
          type: 'string',
          describe: 'port number or name (resolved per destination); default: every port each destination declares',
        })
        .option('from', { type: 'string', nargs: 1, describe: 'only these sources: NS, NS/NAME (pod or workload), NS/KIND/NAME, or a label selector (app=web,tier!=db)' })
        .option('to', { type: 'string', nargs: 1, describe: 'only these destinations (same forms as --from)' }),
    )
      .option('output', {
        alias: 'o',
        type: 'string',
        // nargs: 1 so a bare `-o` is an error rather than yargs silently using the default.
        nargs: 1,
        default: 'table',
        describe: 'output format: table, json (one document, grouped past 100,000 cells) or ndjson (one line per cell or group pair)',
      })
      .example('$0 analyze --manifests k8s/', 'every pod pair on every port its destination declares (a namespace summary at scale)')
      .example('$0 analyze -f k8s/ --port 8080 -o json', 'one JSON document with a cell (and its explanation) per pod pair')
      .example('$0 analyze -f k8s/ --to shop/web -o json', 'who can reach shop/web (every source, explained)')
      .example('$0 analyze -f k8s/ --from shop/deployment/web', 'what shop/web can reach')
      .example('$0 analyze -f k8s/ --port 53 --protocol UDP', 'who can reach DNS')
      .example('$0 analyze --context prod --port 8080', "the live cluster's pods and policies (what could not be read is listed)")
      .example('$0 analyze --kubeconfig team.kubeconfig --namespace financial-ml', 'with a namespace-scoped Role: the namespaces it may read (and only their pods shown)'),
  run: async (argv) => {
    const output = parseAnalyzeOutput(argv.output);
    const port = parsePortFlag(argv.port);
    const protocol = parseProtocol(argv.protocol);
    // With --manifests, --namespace drills into namespaces; live, it also names the namespaces to read.
    const drill = argv.namespace;
    const { snapshot, skipped, origin, context, notReadable } = await loadPolicySource(
      argv.manifests !== undefined && drill !== undefined ? { ...argv, namespace: undefined } : argv,
      'analyze',
    );
    if (typeof port === 'string') checkPortNameDeclared(snapshot, port, origin === 'manifests' ? 'in the manifests' : `in cluster ${context ?? ''}`.trimEnd());
    const prepared = prepareAnalysis(snapshot, { port, protocol });
    const all = allPods(prepared);
    // --namespace drills in: always with --manifests; live (where it also names what to read) once the table would be a summary.
    const drilled = drill !== undefined && (origin === 'manifests' || prepared.pods.length > TABLE_POD_LIMIT);
    const inNamespaces = drilled ? new Set(drillPositions(prepared, drill)) : undefined;
    const pick = (positions: number[] | undefined): number[] => {
      const base = positions ?? all.from;
      return inNamespaces ? base.filter((i) => inNamespaces.has(i)) : base;
    };
    const focus: AnalysisFocus = { from: pick(focusPositions(prepared, '--from', argv.from)), to: pick(focusPositions(prepared, '--to', argv.to)) };
    // No pods at all (a live read with namespace-scoped rights) is said below, not a focus error.
    if (prepared.pods.length > 0 && (focus.from.length === 0 || focus.to.length === 0)) {
      throw new UsageError(`--namespace ${drill?.join(' ') ?? ''}: no ${focus.from.length === 0 ? 'source' : 'destination'} of --from/--to is in it`, { hint: 'drop --namespace, or name sources and destinations inside it' });
    }
    const focused = argv.from !== undefined || argv.to !== undefined || drilled;
    if (origin === 'cluster' && prepared.pods.length === 0 && output === 'table') {
      // The matrix renderer speaks of manifests; a cluster read with namespace-scoped rights may simply show no pods.
      const read = [...new Set(snapshot.namespaces.map((n) => n.name))].join(', ');
      process.stdout.write(`no pods readable in cluster ${context ?? ''}${read ? ` (namespaces read: ${read})` : ''}: nothing to analyze; with namespace-scoped rights name the namespaces with --namespace\n`);
    } else {
      await writeChunks(
        process.stdout,
        output === 'json' ? analysisJsonChunks(prepared, focus, skipped) : output === 'ndjson' ? analysisNdjsonChunks(prepared, focus) : analysisTableChunks(prepared, focus, skipped, focused),
      );
    }
    // Rights that hid part of the cluster: said after the matrix (stderr, so -o json stays one document).
    if (notReadable.length > 0) {
      process.stderr.write(`netcheck: not readable in cluster ${context ?? ''} with these rights (the matrix may be wrong there):\n${notReadable.map((n) => `  - ${n}\n`).join('')}`);
    }
    return ExitCode.Pass;
  },
});
