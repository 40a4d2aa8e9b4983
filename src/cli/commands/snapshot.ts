/**
 * `netcheck snapshot SCENARIO -o FILE`: one run of every cell (optionally --per-node), recorded as a snapshot
 * for `netcheck diff` — the step before, during and after a CNI migration. A Flannel baseline where every deny
 * cell leaks is what it is, not a red run: exit 0 once recorded (3 when checks could not run). With
 * `--against BEFORE` it also compares the new snapshot with BEFORE and exits as `diff` does.
 */
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import type { Snapshot } from '../../model/snapshot.js';
import type { RunResult } from '../../model/verdict.js';
import { renderDiffTable } from '../../report/render-diff.js';
import { diffSnapshots, parseSnapshot, predictChanges, toSnapshot } from '../../run/snapshot.js';
import { COMMANDS, SCENARIO_POSITIONAL } from './catalog.js';
import { defineCommand } from '../command.js';
import { parseOutputs } from '../reports.js';
import { netcheckVersion } from '../version.js';
import { buildFocusOptions, buildProbeOptions, executeRun, type RunArgs } from './run.js';

interface SnapshotArgs extends Omit<RunArgs, 'output' | 'append'> {
  output: string;
  against?: string;
}

/** A snapshot file named on the command line, read and checked (exit 2 with the file's name when it is not one). */
export async function readSnapshotFile(file: string, flag: string): Promise<Snapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag}${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(error)})`}`, {
      hint: 'take a snapshot with `netcheck snapshot SCENARIO -o FILE`',
    });
  }
  return parseSnapshot(text, file);
}

/** One line on stderr: what was recorded, and what the policies will change once enforced. */
function describeRecorded(snapshot: Snapshot, file: string): string {
  const cells = snapshot.result.cells;
  const count = (path: string) => cells.filter((c) => (c.path ?? 'not-run') === path).length;
  const predicted = predictChanges(snapshot);
  const closing = predicted.counts.regression + predicted.counts['newly-enforced'];
  const next = closing > 0 ? `; ${closing} open flow(s) the policies deny (${predicted.counts.regression} against the intent): \`netcheck diff --predict ${file}\`` : '';
  return `netcheck: snapshot of ${snapshot.scenario} written to ${file}: ${cells.length} cells (${count('open')} open, ${count('blocked')} blocked, ${count('unknown')} unknown, ${count('not-run')} not run)${next}\n`;
}

export const snapshotCommand = defineCommand<SnapshotArgs>({
  command: COMMANDS.snapshot.command,
  describe: COMMANDS.snapshot.describe,
  builder: (yargs: Argv) =>
    buildProbeOptions(
      buildFocusOptions(yargs.positional('scenario', SCENARIO_POSITIONAL)),
    )
      .option('output', { alias: 'o', type: 'string', nargs: 1, demandOption: 'name the snapshot file: -o FILE', describe: 'the snapshot file (JSON) to write' })
      .option('against', { type: 'string', nargs: 1, describe: 'an earlier snapshot: print what changed since, and exit as `netcheck diff` does' })
      .example('$0 snapshot financial-ml --per-node -o baseline.json', 'before the migration (Flannel): every flow, from every node')
      .example('$0 snapshot financial-ml --per-node -o node-a.json --against baseline.json', 'after migrating node-a: record, and show what changed')
      .epilogue('exit: 0 recorded (with --against: and no regression) · 1 with --against: a regression · 2 bad input · 3 some check could not run (the snapshot is still written)'),
  run: async (argv) => {
    const file = argv.output;
    const before = argv.against !== undefined ? await readSnapshotFile(argv.against, '--against ') : undefined;
    const outputs = parseOutputs([`snapshot=${file}`]);
    const { output: _file, against: _against, ...probeArgs } = argv;
    return executeRun(probeArgs, {
      outputs,
      conclude: async (result: RunResult, infrastructureFailures: number, run: { perNode: boolean }) => {
        const snapshot = toSnapshot(result, { netcheckVersion: netcheckVersion(), perNode: run.perNode });
        process.stderr.write(describeRecorded(snapshot, file));
        if (before !== undefined) {
          const diff = diffSnapshots(before, snapshot, [argv.against ?? 'BEFORE', file]);
          process.stdout.write(renderDiffTable(diff));
          if (diff.counts.regression > 0) return ExitCode.Mismatch;
        }
        return infrastructureFailures > 0 ? ExitCode.Infrastructure : ExitCode.Pass;
      },
    });
  },
});
