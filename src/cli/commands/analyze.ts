/** `netcheck analyze --manifests PATH...`: the pod-to-pod matrix the NetworkPolicies imply. */
import type { Argv } from 'yargs';
import { ExitCode } from '../../model/errors.js';
import { analyzeSnapshot } from '../../policy/analyze.js';
import { renderAnalysisJson, renderAnalysisTable } from '../../report/render-matrix.js';
import { defineCommand } from '../command.js';
import { loadManifests, parseOutput, parsePortFlag, parseProtocol, withManifests, withOutput, withProtocol, type ManifestArgs } from '../offline-flags.js';

interface AnalyzeArgs extends ManifestArgs {
  port?: string;
  protocol?: string;
  output: string;
}

export const analyzeCommand = defineCommand<AnalyzeArgs>({
  command: 'analyze',
  describe: 'Pod-to-pod reachability matrix computed from manifests (no cluster needed)',
  builder: (yargs: Argv) =>
    withOutput(
      withProtocol(
        withManifests(yargs).option('port', {
          type: 'string',
          describe: 'port number or name (resolved per destination); default: every port each destination declares',
        }),
      ),
    ),
  run: async (argv) => {
    const output = parseOutput(argv.output);
    const port = parsePortFlag(argv.port);
    const protocol = parseProtocol(argv.protocol);
    const { snapshot, skipped } = await loadManifests(argv.manifests);
    const analysis = analyzeSnapshot(snapshot, { port, protocol, explain: output === 'json' });
    process.stdout.write(output === 'json' ? renderAnalysisJson(analysis, skipped) : renderAnalysisTable(analysis, skipped));
    return ExitCode.Pass;
  },
});
