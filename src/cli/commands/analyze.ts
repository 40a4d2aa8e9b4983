/** `netcheck analyze --manifests PATH... | --kubeconfig K | --context C`: the pod-to-pod matrix the NetworkPolicies imply. */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { analyzeSnapshot } from '../../policy/analyze.js';
import type { ClusterSnapshot } from '../../policy/types.js';
import { findNearestName } from '../../scenario/nearest-name.js';
import { renderAnalysisJson, renderAnalysisTable } from '../../report/render-matrix.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { loadPolicySource, parseOutput, parsePortFlag, parseProtocol, withOutput, withPolicySource, withProtocol, type PolicySourceArgs } from '../offline-flags.js';

interface AnalyzeArgs extends PolicySourceArgs {
  port?: string;
  protocol?: string;
  output: string;
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

export const analyzeCommand = defineCommand<AnalyzeArgs>({
  command: COMMANDS.analyze.command,
  describe: COMMANDS.analyze.describe,
  builder: (yargs: Argv) =>
    withOutput(
      withProtocol(
        withPolicySource(yargs).option('port', {
          type: 'string',
          describe: 'port number or name (resolved per destination); default: every port each destination declares',
        }),
      ),
    )
      .example('$0 analyze --manifests k8s/', 'every pod pair on every port its destination declares')
      .example('$0 analyze -f k8s/ --port 8080 -o json', 'one JSON document with a cell (and its explanation) per pod pair')
      .example('$0 analyze -f k8s/ --port 53 --protocol UDP', 'who can reach DNS')
      .example('$0 analyze --context prod --port 8080', "the live cluster's pods and policies (what could not be read is listed)")
      .example('$0 analyze --kubeconfig team.kubeconfig --namespace financial-ml', 'with a namespace-scoped Role: the namespaces it may read'),
  run: async (argv) => {
    const output = parseOutput(argv.output);
    const port = parsePortFlag(argv.port);
    const protocol = parseProtocol(argv.protocol);
    const { snapshot, skipped, origin, context, notReadable } = await loadPolicySource(argv, 'analyze');
    if (typeof port === 'string') checkPortNameDeclared(snapshot, port, origin === 'manifests' ? 'in the manifests' : `in cluster ${context ?? ''}`.trimEnd());
    const analysis = analyzeSnapshot(snapshot, { port, protocol, explain: output === 'json' });
    if (origin === 'cluster' && analysis.pods.length === 0 && output === 'table') {
      // The matrix renderer speaks of manifests; a cluster read with namespace-scoped rights may simply show no pods.
      const read = [...new Set(snapshot.namespaces.map((n) => n.name))].join(', ');
      process.stdout.write(`no pods readable in cluster ${context ?? ''}${read ? ` (namespaces read: ${read})` : ''}: nothing to analyze; with namespace-scoped rights name the namespaces with --namespace\n`);
    } else process.stdout.write(output === 'json' ? renderAnalysisJson(analysis, skipped) : renderAnalysisTable(analysis, skipped));
    // Rights that hid part of the cluster: said after the matrix (stderr, so -o json stays one document).
    if (notReadable.length > 0) {
      process.stderr.write(`netcheck: not readable in cluster ${context ?? ''} with these rights (the matrix may be wrong there):\n${notReadable.map((n) => `  - ${n}\n`).join('')}`);
    }
    return ExitCode.Pass;
  },
});
