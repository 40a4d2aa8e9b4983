import type { AnyCommand } from '../command.js';
import { COMMANDS } from './catalog.js';
import { runCommand, scenarioShorthandCommand } from './run.js';

/** A command main.ts registers in full only when the command line names it; otherwise by its word and description. */
export interface LazyCommand {
  word: string;
  command: string;
  describe: string;
  load: () => Promise<AnyCommand>;
}

const lazy = (entry: { command: string; describe: string }, load: () => Promise<AnyCommand>): LazyCommand => ({
  word: entry.command.split(' ')[0] ?? entry.command,
  ...entry,
  load,
});

/** Every command but `run` and the default one, in --help order; each lives in its own file beside this one. */
export const lazyCommands: LazyCommand[] = [
  lazy(COMMANDS.analyze, async () => (await import('./analyze.js')).analyzeCommand),
  lazy(COMMANDS.explain, async () => (await import('./explain.js')).explainCommand),
  lazy(COMMANDS.lint, async () => (await import('./lint.js')).lintCommand),
  lazy(COMMANDS.validate, async () => (await import('./validate.js')).validateCommand),
  lazy(COMMANDS.check, async () => (await import('./check.js')).checkCommand),
  lazy(COMMANDS.cleanup, async () => (await import('./cleanup.js')).cleanupCommand),
];

/** Loaded with the CLI: `run`, then (after the lazy ones) the `netcheck financial-ml` shorthand, which must come last so named commands win. */
export const eagerCommands = { run: runCommand, shorthand: scenarioShorthandCommand };

/** Commands listed after `run` in --help. */
export const lazyCommandsAfterRun: LazyCommand[] = [
  lazy(COMMANDS.snapshot, async () => (await import('./snapshot.js')).snapshotCommand),
  lazy(COMMANDS.diff, async () => (await import('./diff.js')).diffCommand),
];
