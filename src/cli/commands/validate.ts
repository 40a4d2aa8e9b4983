/**
 * `netcheck validate FILE|NAME`: load and check a scenario (and, when it names manifests, that its
 * workloads and Services exist there); print one summary line. Exit 0, or 2 with every error of the file,
 * each with its file:line:column.
 *
 * A valid scenario whose intent the policies contradict is still valid: judging the intent is `netcheck check`'s
 * job (exit 1 there). validate says so in one warning line on stderr, so nobody takes "valid" for "agrees".
 */
import type { Argv } from 'yargs';
import { ExitCode } from '../../model/errors.js';
import { checkIntent } from '../../run/check-intent.js';
import { checkScenarioAgainstSnapshot } from '../../scenario/check-manifests.js';
import { loadScenario, readScenarioManifests } from '../../scenario/load.js';
import type { Scenario } from '../../scenario/types.js';
import { COMMANDS, SCENARIO_POSITIONAL } from './catalog.js';
import { defineCommand } from '../command.js';

interface ValidateArgs {
  scenario: string;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function summarizeScenario(scenario: Scenario, manifests?: { workloads: number; services: number }): string {
  const allow = scenario.cells.filter((c) => c.expect === 'allow').length;
  const known = scenario.cells.filter((c) => c.known !== undefined).length;
  const parts = [
    plural(scenario.sources.length, 'source'),
    plural(scenario.targets.length, 'target'),
    `${plural(scenario.cells.length, 'cell')} (${allow} allow, ${scenario.cells.length - allow} deny)`,
    plural(known, 'known gap'),
  ];
  if (manifests) parts.push(`matches the manifests (${plural(manifests.workloads, 'workload')}, ${plural(manifests.services, 'service')})`);
  return `${scenario.name}: valid — ${parts.join(', ')}`;
}

export const validateCommand = defineCommand<ValidateArgs>({
  command: COMMANDS.validate.command,
  describe: COMMANDS.validate.describe,
  builder: (yargs: Argv) =>
    yargs.positional('scenario', SCENARIO_POSITIONAL)
      .example('$0 validate financial-ml', 'the built-in scenario, checked against its manifests')
      .example('$0 validate ./scenario.yaml', 'errors name file:line:column, with "did you mean" for typos'),
  run: async (argv) => {
    const scenario = await loadScenario(argv.scenario);
    let manifests: { workloads: number; services: number } | undefined;
    let failing = 0;
    if (scenario.manifests.length > 0) {
      const { snapshot } = await readScenarioManifests(scenario);
      checkScenarioAgainstSnapshot(scenario, snapshot);
      manifests = { workloads: snapshot.pods.length, services: snapshot.services.length };
      failing = checkIntent(scenario, snapshot).summary.failed;
    }
    console.log(summarizeScenario(scenario, manifests));
    if (failing > 0) {
      console.error(
        `netcheck: warning: the policies in the manifests contradict ${plural(failing, 'cell')} of this scenario (or a \`known:\` entry is stale); \`netcheck check ${argv.scenario}\` says which (exit 1)`,
      );
    }
    return ExitCode.Pass;
  },
});
