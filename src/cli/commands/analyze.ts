/** `netcheck analyze --manifests PATH...`: the pod-to-pod matrix the NetworkPolicies imply. */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { analyzeSnapshot } from '../../policy/analyze.js';
import type { ClusterSnapshot } from '../../policy/types.js';
import { findNearestName } from '../../scenario/nearest-name.js';
import { renderAnalysisJson, renderAnalysisTable } from '../../report/render-matrix.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { loadManifests, parseOutput, parsePortFlag, parseProtocol, withManifests, withOutput, withProtocol, type ManifestArgs } from '../offline-flags.js';

interface AnalyzeArgs extends ManifestArgs {
  port?: string;
  protocol?: string;
  output: string;
}

/** A port name no pod declares would give an all-"no such port" matrix: almost surely a typo. */
function checkPortNameDeclared(snapshot: ClusterSnapshot, name: string): void {
  const names = [...new Set(snapshot.pods.flatMap((pod) => pod.ports.flatMap((p) => (p.name ? [p.name] : []))))].sort();
  if (names.includes(name)) return;
  const near = findNearestName(name, names);
  throw new UsageError(`--port ${name}: no pod in the manifests declares a port of that name${near ? `; did you mean ${near}?` : ''}`, {
    hint: names.length > 0 ? `declared port names: ${names.join(', ')}; or give a number` : 'no pod names its ports; give a number',
  });
}

export const analyzeCommand = defineCommand<AnalyzeArgs>({
  command: COMMANDS.analyze.command,
  describe: COMMANDS.analyze.describe,
  builder: (yargs: Argv) =>
    withOutput(
      withProtocol(
        withManifests(yargs).option('port', {
          type: 'string',
          describe: 'port number or name (resolved per destination); default: every port each destination declares',
        }),
      ),
    )
      .example('$0 analyze --manifests k8s/', 'every pod pair on every port its destination declares')
      .example('$0 analyze -f k8s/ --port 8080 -o json', 'one JSON document with a cell (and its explanation) per pod pair')
      .example('$0 analyze -f k8s/ --port 53 --protocol UDP', 'who can reach DNS'),
  run: async (argv) => {
    const output = parseOutput(argv.output);
    const port = parsePortFlag(argv.port);
    const protocol = parseProtocol(argv.protocol);
    const { snapshot, skipped } = await loadManifests(argv.manifests);
    if (typeof port === 'string') checkPortNameDeclared(snapshot, port);
    const analysis = analyzeSnapshot(snapshot, { port, protocol, explain: output === 'json' });
    process.stdout.write(output === 'json' ? renderAnalysisJson(analysis, skipped) : renderAnalysisTable(analysis, skipped));
    return ExitCode.Pass;
  },
});
