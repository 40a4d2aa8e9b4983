/**
 * `netcheck run SCENARIO`: probe the cluster against the scenario's expected matrix and report.
 * Also the on-call shorthand `netcheck financial-ml` (a built-in scenario by name).
 * Exit 0 all pass (known gaps allowed) · 1 mismatch · 2 bad input · 3 infrastructure · 130/143 signal.
 */
import { writeFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { connectCluster } from '../../cluster/client.js';
import { ExitCode, UsageError } from '../../model/errors.js';
import type { RunResult } from '../../model/verdict.js';
import { renderJson } from '../../report/render-json.js';
import { renderJunit } from '../../report/render-junit.js';
import { renderMarkdown } from '../../report/render-markdown.js';
import { renderTable } from '../../report/render-table.js';
import { runScenario } from '../../run/run-scenario.js';
import { listBuiltinScenarios, loadScenario } from '../../scenario/load.js';
import { findNearestName } from '../../scenario/nearest-name.js';
import { parseDurationMs } from '../../scenario/values.js';
import { defineCommand } from '../command.js';
import { createProgressReporter } from '../progress.js';

export interface RunArgs {
  scenario: string;
  kubeconfig?: string;
  context?: string;
  output?: string[];
  timeout?: string;
  budget: string;
  retries?: number;
  perNode?: boolean;
  image?: string;
  imagePullSecret?: string;
  progress?: boolean;
}

const FORMATS = ['table', 'json', 'junit', 'markdown'] as const;
type Format = (typeof FORMATS)[number];
export interface OutputSpec {
  format: Format;
  /** Absent: stdout. */
  file?: string;
}

/** `-o table`, `-o json=report.json`, … (several allowed; without =FILE the report goes to stdout). */
export function parseOutputs(values: readonly string[] | undefined): OutputSpec[] {
  if (!values || values.length === 0) return [{ format: 'table' }];
  return values.map((value) => {
    const eq = value.indexOf('=');
    const format = (eq < 0 ? value : value.slice(0, eq)).trim();
    const file = eq < 0 ? undefined : value.slice(eq + 1).trim();
    if (!(FORMATS as readonly string[]).includes(format)) {
      const near = findNearestName(format, FORMATS);
      throw new UsageError(`-o ${value}: unknown format "${format}"${near ? `; did you mean \`${near}\`?` : ''}`, {
        hint: `formats: ${FORMATS.join(', ')}, each optionally =FILE`,
      });
    }
    if (file === '') throw new UsageError(`-o ${value}: missing file name after "="`);
    return file === undefined ? { format: format as Format } : { format: format as Format, file };
  });
}

function render(format: Format, result: RunResult): string {
  switch (format) {
    case 'table':
      return renderTable(result);
    case 'json':
      return renderJson(result);
    case 'junit':
      return renderJunit(result);
    case 'markdown':
      return renderMarkdown(result);
  }
}

function duration(flag: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new UsageError(`--${flag} ${value}: not a duration`, { hint: 'e.g. 500ms, 2s, 1m' });
  return ms;
}

function buildRunOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('kubeconfig', { type: 'string', describe: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)' })
    .option('context', { type: 'string', describe: 'kubeconfig context' })
    .option('output', {
      alias: 'o',
      type: 'string',
      array: true,
      describe: 'report: table | json | junit | markdown, each optionally =FILE (repeatable; default table)',
    })
    .option('timeout', { type: 'string', describe: "per-check timeout (default: the scenario's), e.g. 2s" })
    .option('budget', { type: 'string', default: '60s', describe: 'whole-run budget; pods die at it even if netcheck is killed' })
    .option('retries', { type: 'number', describe: "extra attempts for a check that disagrees with its expectation (default: the scenario's)" })
    .option('per-node', { type: 'boolean', describe: 'probe every pod source from each node (CNI migrations)' })
    .option('image', { type: 'string', describe: 'probe image (any image with `node`)' })
    .option('image-pull-secret', { type: 'string', describe: 'imagePullSecret for the probe image' })
    .option('progress', { type: 'boolean', default: true, describe: 'show per-pod progress on stderr' });
}

export async function executeRun(argv: RunArgs): Promise<ExitCode> {
  const outputs = parseOutputs(argv.output);
  const timeoutMs = argv.timeout === undefined ? undefined : duration('timeout', argv.timeout);
  const budgetMs = duration('budget', argv.budget);
  if (argv.retries !== undefined && (!Number.isInteger(argv.retries) || argv.retries < 0)) {
    throw new UsageError(`--retries ${argv.retries}: must be a whole number ≥ 0`);
  }
  const scenario = await loadScenario(argv.scenario);
  const client = await connectCluster({
    ...(argv.kubeconfig !== undefined ? { kubeconfig: argv.kubeconfig } : {}),
    ...(argv.context !== undefined ? { context: argv.context } : {}),
  });

  const controller = new AbortController();
  let stoppedBy: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => () => {
    stoppedBy = signal;
    process.stderr.write(`netcheck: ${signal}: deleting this run's pods…\n`);
    controller.abort(new Error(signal));
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  const progress = argv.progress === false ? undefined : createProgressReporter(process.stderr);
  // Written once progress has stopped: a line in the middle of a live task list would be overdrawn.
  const cleanupWarnings: string[] = [];

  try {
    const run = await runScenario(scenario, {
      client,
      budgetMs,
      signal: controller.signal,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(argv.retries !== undefined ? { retries: argv.retries } : {}),
      ...(argv.perNode ? { perNode: true } : {}),
      ...(argv.image !== undefined ? { image: argv.image } : {}),
      ...(argv.imagePullSecret !== undefined ? { imagePullSecret: argv.imagePullSecret } : {}),
      ...(progress ? { onPlan: progress.onPlan, onProgress: progress.onProgress } : {}),
      onCleanupFailed: (message) => cleanupWarnings.push(message),
    });
    await progress?.stop();
    for (const out of outputs) {
      const text = render(out.format, run.result);
      if (out.file === undefined) process.stdout.write(text);
      else await writeFile(out.file, text);
    }
    if (run.failures.length > 0) {
      for (const f of run.failures) {
        process.stderr.write(`netcheck: ${f.message}\n`);
        if (f.hint) process.stderr.write(`  hint: ${f.hint}\n`);
      }
      return ExitCode.Infrastructure;
    }
    return run.result.summary.failed === 0 ? ExitCode.Pass : ExitCode.Mismatch;
  } catch (error) {
    await progress?.stop(stoppedBy ? `stopped by ${stoppedBy}` : 'not finished');
    if (stoppedBy !== undefined) return stoppedBy === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated;
    throw error;
  } finally {
    for (const w of cleanupWarnings) process.stderr.write(`netcheck: warning: ${w}\n`);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

export const runCommand = defineCommand<RunArgs>({
  command: 'run <scenario>',
  describe: 'Probe the cluster and compare with the scenario (file, directory, or built-in name)',
  builder: (yargs: Argv) =>
    buildRunOptions(yargs.positional('scenario', { type: 'string', demandOption: true, describe: 'scenario file or built-in name' })),
  run: executeRun,
});

/** Top-level command words, to tell a typo of a command from a scenario name (index.js imports this file, so load it late). */
async function listCommandWords(): Promise<string[]> {
  const { commands } = await import('./index.js');
  return commands
    .map((c) => (Array.isArray(c.command) ? String(c.command[0]) : String(c.command)).split(' ')[0] ?? '')
    .filter((word) => word !== '' && word !== '$0')
    .sort();
}

/** `netcheck financial-ml`: the on-call shorthand for `netcheck run financial-ml` (built-in scenarios only). */
export const scenarioShorthandCommand = defineCommand<Omit<RunArgs, 'scenario'> & { scenario?: string; extra?: string[] }>({
  // `[extra..]` lets a mistyped command with arguments (`netcheck valdate x`) reach the suggestion below
  // instead of yargs' bare "Unknown argument: x".
  command: '$0 [scenario] [extra..]',
  describe: 'Shorthand: `netcheck financial-ml` runs a built-in scenario',
  builder: (yargs: Argv) =>
    buildRunOptions(yargs.positional('scenario', { type: 'string', describe: 'built-in scenario name' })),
  run: async (argv) => {
    if (argv.scenario === undefined) {
      throw new UsageError('name a command, or a built-in scenario (e.g. `netcheck financial-ml`)', { hint: 'run `netcheck --help`' });
    }
    const builtins = listBuiltinScenarios();
    const extra = argv.extra ?? [];
    if (!builtins.includes(argv.scenario) || extra.length > 0) {
      const words = await listCommandWords();
      const command = findNearestName(argv.scenario, words);
      const scenario = findNearestName(argv.scenario, builtins);
      const suggestion = command ? `; did you mean \`netcheck ${command}\`?` : scenario ? `; did you mean \`netcheck ${scenario}\`?` : '';
      const what = builtins.includes(argv.scenario)
        ? `unexpected argument${extra.length > 1 ? 's' : ''} after ${argv.scenario}: ${extra.join(' ')}`
        : `unknown command or built-in scenario "${argv.scenario}"${suggestion}`;
      throw new UsageError(what, {
        hint: `commands: ${words.join(', ')}; built-in scenarios: ${builtins.join(', ') || 'none'}; files: netcheck run FILE`,
      });
    }
    return executeRun({ ...argv, scenario: argv.scenario });
  },
});
