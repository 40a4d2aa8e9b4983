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

/**
 * Every command in --help order; each lives in its own file beside this one. `run` and the `netcheck financial-ml`
 * shorthand are loaded with the CLI (the shorthand is the default command, whatever word comes first); the
 * shorthand comes last so named commands win.
 */
export const commandsInHelpOrder: Array<AnyCommand | LazyCommand> = [
  lazy(COMMANDS.analyze, async () => (await import('./analyze.js')).analyzeCommand),
  lazy(COMMANDS.explain, async () => (await import('./explain.js')).explainCommand),
  lazy(COMMANDS.lint, async () => (await import('./lint.js')).lintCommand),
  lazy(COMMANDS.validate, async () => (await import('./validate.js')).validateCommand),
  lazy(COMMANDS.check, async () => (await import('./check.js')).checkCommand),
  lazy(COMMANDS.cleanup, async () => (await import('./cleanup.js')).cleanupCommand),
  runCommand,
  lazy(COMMANDS.probe, async () => (await import('./probe.js')).probeCommand),
  lazy(COMMANDS.snapshot, async () => (await import('./snapshot.js')).snapshotCommand),
  lazy(COMMANDS.diff, async () => (await import('./diff.js')).diffCommand),
  lazy(COMMANDS.dns, async () => (await import('./dns.js')).dnsCommand),
  lazy(COMMANDS.watch, async () => (await import('./watch.js')).watchCommand),
  scenarioShorthandCommand,
];
