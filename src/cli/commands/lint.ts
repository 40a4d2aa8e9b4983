/** `netcheck lint --manifests PATH...`: the platform rules as findings; exit 1 on any error-severity finding. */
import type { Argv } from 'yargs';
import { ExitCode } from '../../model/errors.js';
import { hasErrors, lintSnapshot } from '../../policy/lint.js';
import { renderLintJson, renderLintTable } from '../../report/render-lint.js';
import { defineCommand } from '../command.js';
import { loadManifests, parseOutput, withManifests, withOutput, type ManifestArgs } from '../offline-flags.js';

interface LintArgs extends ManifestArgs {
  output: string;
}

export const lintCommand = defineCommand<LintArgs>({
  command: 'lint',
  describe: 'Check NetworkPolicies in manifests against the platform rules (exit 1 on errors)',
  builder: (yargs: Argv) =>
    withOutput(withManifests(yargs)).example('$0 lint --manifests k8s/', 'findings NC001… with severity and a fix hint; exit 1 on an error'),
  run: async (argv) => {
    const output = parseOutput(argv.output);
    const { snapshot, skipped } = await loadManifests(argv.manifests);
    const findings = lintSnapshot(snapshot);
    process.stdout.write(output === 'json' ? renderLintJson(findings, skipped) : renderLintTable(findings));
    return hasErrors(findings) ? ExitCode.Mismatch : ExitCode.Pass;
  },
});
