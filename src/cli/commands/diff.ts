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
      .epilogue('exit: 0 no regression · 1 a regression (a flow changed against the intent) · 2 bad input'),
  run: async (argv) => {
    if (argv.predict && argv.after !== undefined) throw new UsageError('--predict takes one snapshot; drop AFTER, or drop --predict to compare two');
    if (!argv.predict && argv.after === undefined) {
      throw new UsageError('diff needs two snapshots (BEFORE AFTER), or one with --predict', { hint: 'e.g. netcheck diff baseline.json node-a.json' });
    }
    const outputs = parseOutputs(argv.output, { formats: REPORT_FORMATS, append: argv.append === true });
    await checkOutputFiles(outputs);
    const before = await readSnapshotFile(argv.before, '');
    const diff = argv.after === undefined ? predictChanges(before) : diffSnapshots(before, await readSnapshotFile(argv.after, ''), [argv.before, argv.after]);
    await writeOutputs(outputs, {
      table: () => renderDiffTable(diff),
      json: () => renderDiffJson(diff),
      junit: () => renderDiffJunit(diff),
      markdown: () => renderDiffMarkdown(diff),
    });
    return diff.counts.regression > 0 ? ExitCode.Mismatch : ExitCode.Pass;
  },
});
