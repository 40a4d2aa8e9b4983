/**
 * `netcheck diff BEFORE AFTER`: what changed between two snapshots, cell by cell (per node when they were taken
 * --per-node), classified against the intent; `netcheck diff --predict BEFORE`: what enforcing the policies
 * will change, from one snapshot (a Flannel baseline). Offline: loads no cluster code.
 * Exit 0 no regression · 1 a regression · 2 bad input (not a snapshot, another version, two scenarios).
 */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import { renderDiffJson, renderDiffJunit, renderDiffMarkdown, renderDiffTable } from '../../report/render-diff.js';
import { diffSnapshots, predictChanges } from '../../run/snapshot.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { checkOutputFiles, parseOutputs, REPORT_FORMATS, writeOutputs } from '../reports.js';
import { readSnapshotFile } from './snapshot.js';

interface DiffArgs {
  before: string;
  after?: string;
  predict?: boolean;
  migrated?: string;
  output?: string[];
  append?: boolean;
}

export const diffCommand = defineCommand<DiffArgs>({
  command: COMMANDS.diff.command,
  describe: COMMANDS.diff.describe,
  builder: (yargs: Argv) =>
    yargs
      .positional('before', { type: 'string', demandOption: true, describe: 'the earlier snapshot (netcheck snapshot -o FILE)' })
      .positional('after', { type: 'string', describe: 'the later snapshot' })
      .option('predict', { type: 'boolean', describe: 'one snapshot: the open flows the policies deny, which enforcement will close' })
      .option('migrated', {
        type: 'string',
        nargs: 1,
        describe: 'with --predict: the nodes that will enforce the policies at this step (node-a,...); a denial closes a flow once its node does',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'report: table | json | markdown [=FILE], junit=FILE; repeatable, at most one on stdout (default: table)',
      })
      .option('append', { type: 'boolean', describe: 'append the markdown=FILE report to FILE instead of replacing it ($GITHUB_STEP_SUMMARY is always appended to)' })
      .example('$0 diff baseline.json node-a.json', 'after migrating node-a: exactly what changed, and whether it was meant to')
      .example('$0 diff --predict baseline.json', 'before touching a node: which flows the policies will close')
      .example('$0 diff --predict baseline.json --migrated node-a', 'before migrating node-a: which flows it alone will close')
      .epilogue('exit: 0 no regression · 1 a regression (a flow changed against the intent) · 2 bad input'),
  run: async (argv) => {
    if (argv.predict && argv.after !== undefined) throw new UsageError('--predict takes one snapshot; drop AFTER, or drop --predict to compare two');
    if (argv.migrated !== undefined && !argv.predict) throw new UsageError('--migrated goes with --predict: it names the nodes a predicted step enforces on');
    const migrated = argv.migrated?.split(',').map((n) => n.trim()).filter(Boolean);
    if (migrated !== undefined && migrated.length === 0) throw new UsageError('--migrated: give node names (node-a,node-b)');
    if (!argv.predict && argv.after === undefined) {
      throw new UsageError('diff needs two snapshots (BEFORE AFTER), or one with --predict', { hint: 'e.g. netcheck diff baseline.json node-a.json' });
    }
    const outputs = parseOutputs(argv.output, { formats: REPORT_FORMATS, append: argv.append === true });
    await checkOutputFiles(outputs);
    const before = await readSnapshotFile(argv.before, '');
    if (migrated !== undefined) {
      const known = before.result.cluster.nodes;
      const unknown = migrated.filter((n) => known.length > 0 && !known.includes(n));
      if (unknown.length > 0) throw new UsageError(`--migrated: ${argv.before} has no node ${unknown.join(', ')}`, { hint: `its nodes: ${known.join(', ')}` });
    }
    const diff = argv.after === undefined ? predictChanges(before, migrated !== undefined ? { enforcing: migrated } : {}) : diffSnapshots(before, await readSnapshotFile(argv.after, ''), [argv.before, argv.after]);
    await writeOutputs(outputs, {
      table: () => renderDiffTable(diff),
      json: () => renderDiffJson(diff),
      junit: () => renderDiffJunit(diff),
      markdown: () => renderDiffMarkdown(diff),
    });
    return diff.counts.regression > 0 ? ExitCode.Mismatch : ExitCode.Pass;
  },
});
