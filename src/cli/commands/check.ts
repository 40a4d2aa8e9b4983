/**
 * `netcheck check SCENARIO`: the intent gate for pull requests. Every cell of the scenario against the policies
 * in its `manifests:`, with no cluster. Exit 0 every cell agrees (or is a known gap the policies still produce,
 * or policy cannot decide it offline) · 1 a contradiction, or a `known:` entry the policies no longer produce ·
 * 2 bad input. Loads no cluster code.
 */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { renderIntentJson, renderIntentJunit, renderIntentMarkdown, renderIntentTable } from '../../report/render-intent.js';
import { checkIntent } from '../../run/check-intent.js';
import { checkScenarioAgainstSnapshot } from '../../scenario/check-manifests.js';
import { loadScenario, readScenarioManifests } from '../../scenario/load.js';
import { checkIp } from '../../scenario/values.js';
import { COMMANDS, SCENARIO_POSITIONAL } from './catalog.js';
import { defineCommand } from '../command.js';
import { checkOutputFiles, parseOutputs, REPORT_FORMATS, writeOutputs } from '../reports.js';

interface CheckArgs {
  scenario: string;
  output?: string[];
  append?: boolean;
  runnerAddress?: string;
}

export const checkCommand = defineCommand<CheckArgs>({
  command: COMMANDS.check.command,
  describe: COMMANDS.check.describe,
  builder: (yargs: Argv) =>
    yargs
      .positional('scenario', SCENARIO_POSITIONAL)
      .option('output', {
        alias: 'o',
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'report: table | json | markdown [=FILE], junit=FILE; repeatable, at most one on stdout (default: table)',
      })
      .option('append', { type: 'boolean', describe: 'append the markdown=FILE report to FILE instead of replacing it ($GITHUB_STEP_SUMMARY is always appended to)' })
      .option('runner-address', {
        type: 'string',
        nargs: 1,
        describe: "the address the runner's traffic carries when it reaches the cluster; decides ipBlock rules for runner cells (overrides the scenario's runner `address:`)",
      })
      .example('$0 check financial-ml', 'every cell of the built-in scenario against its manifests\' policies')
      .example('$0 check scenario.yaml -o table -o junit=intent.xml', 'CI, before deploying: JUnit for the pull request; exit 1 on a contradiction')
      .epilogue(
        'exit: 0 intent and policies agree (known gaps that still reproduce, and cells policy cannot decide offline, allowed) · ' +
          '1 a contradiction, or a `known:` entry the policies no longer produce · 2 bad input',
      ),
  run: async (argv) => {
    const outputs = parseOutputs(argv.output, { formats: REPORT_FORMATS, append: argv.append === true });
    const addressProblem = argv.runnerAddress === undefined ? undefined : checkIp(argv.runnerAddress);
    if (addressProblem !== undefined) {
      throw new UsageError(`--runner-address ${argv.runnerAddress}: ${addressProblem}`, { hint: 'give the one address the cluster sees the runner as, e.g. --runner-address 198.51.100.7' });
    }
    await checkOutputFiles(outputs);
    const scenario = await loadScenario(argv.scenario);
    if (scenario.manifests.length === 0) {
      throw new UsageError(`${argv.scenario}: the scenario names no \`manifests:\`, so there are no policies to check it against`, {
        hint: 'add `manifests: [./manifests]` (files or directories, relative to the scenario) holding the namespaces, workloads, Services and NetworkPolicies',
      });
    }
    const { snapshot } = await readScenarioManifests(scenario);
    checkScenarioAgainstSnapshot(scenario, snapshot);
    const shown = scenario.cells[0]?.location.file ?? scenario.file;
    const result = checkIntent(scenario, snapshot, shown, argv.runnerAddress !== undefined ? { runnerAddress: argv.runnerAddress } : {});
    await writeOutputs(outputs, {
      table: () => renderIntentTable(result),
      json: () => renderIntentJson(result),
      junit: () => renderIntentJunit(result),
      markdown: () => renderIntentMarkdown(result),
    });
    return result.summary.failed === 0 ? ExitCode.Pass : ExitCode.Mismatch;
  },
});
