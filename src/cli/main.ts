#!/usr/bin/env node
/**
 * The CLI boundary: the one place that prints errors and exits.
 * Typed NetcheckErrors become one human line plus a hint; anything else is a bug (exit 70, with stack).
 */
import yargs, { type Argv, type MiddlewareFunction } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode, NetcheckError, UsageError } from '../model/errors.js';
import { formatError, outcome } from './command.js';
import { commandsInHelpOrder, type LazyCommand } from './commands/index.js';
import type { AnyCommand } from './command.js';
import { checkShorthandWord, listWords } from './commands/run.js';
import { netcheckVersion } from './version.js';
import { checkFlags, takeCoerceError, type CommandParser, type ParsedArgs } from './flag-check.js';

/** yargs' own messages for what checkFlags leaves to it (positionals), as one line naming what to do. */
function rewriteYargsMessage(message: string, argv: string[]): string {
  const command = argv.find((a) => !a.startsWith('-'));
  if (message.startsWith('Not enough non-option arguments')) {
    return `${command ?? 'netcheck'} needs a scenario: a file, a directory holding scenario.yaml, or a built-in name (e.g. financial-ml)`;
  }
  const bare = /^Not enough arguments following: (.+)$/.exec(message);
  if (bare?.[1]) return `${bare[1].length === 1 ? '-' : '--'}${bare[1]}: needs a value`;
  const unknown = /^Unknown arguments?: (.*)$/s.exec(message);
  if (unknown) return `${command ?? 'netcheck'}: unexpected argument${unknown[1]?.includes(',') ? 's' : ''} ${unknown[1]}`;
  return message.split('\n').join('; ');
}

/**
 * The command a command line names, loaded; the others known by word and description only (enough for --help
 * and "did you mean"). A word that is really an option's value loads one module too many, nothing worse.
 */
async function resolveCommands(argv: readonly string[], entries: ReadonlyArray<AnyCommand | LazyCommand>): Promise<Array<AnyCommand | LazyCommand>> {
  const named = entries.find((e) => 'load' in e && argv.includes(e.word));
  return Promise.all(entries.map((e) => (e === named && 'load' in e ? e.load() : e)));
}

function register(parser: Argv, command: AnyCommand | LazyCommand): Argv {
  return 'register' in command ? command.register(parser) : parser.command(command.command, command.describe);
}

async function main(argv: string[]): Promise<ExitCode> {
  const words = listWords(commandsInHelpOrder);
  let parser = yargs(argv)
    .scriptName('netcheck')
    .usage('$0 <command> [options]\n\nDoes the network behave the way your NetworkPolicies say it should — and if not, why?')
    .strict()
    .demandCommand(1, 'Name a command (or a built-in scenario, e.g. `netcheck financial-ml`). See --help.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    // Explicit: yargs looks for package.json beside its caller, which the bundle (dist/bin) is not.
    .version(netcheckVersion())
    .wrap(Math.min(110, process.stdout.columns || 110))
    // Before yargs' validation: see flag-check.ts. @types/yargs declares middleware with one parameter; yargs
    // passes the command's parser as the second.
    .middleware(((parsed: ParsedArgs, commandParser: CommandParser) => {
      const word = parsed._[0];
      if (word === undefined && typeof parsed['scenario'] === 'string') {
        const extra = Array.isArray(parsed['extra']) ? (parsed['extra'] as unknown[]) : [];
        const error = checkShorthandWord(parsed['scenario'], extra, words);
        if (error) throw error;
      }
      checkFlags(parsed, commandParser, word === undefined ? undefined : String(word), word === undefined ? ['extra'] : [], argv);
    }) as unknown as MiddlewareFunction, true)
    .fail((message, error) => {
      // yargs wraps what a coerce function throws in its own YError, keeping only the message: still bad input.
      if (error && error.name !== 'YError') throw error;
      const coerced = takeCoerceError(message);
      if (coerced) throw coerced;
      throw new UsageError(rewriteYargsMessage(message ?? 'invalid command line', argv), { hint: 'run `netcheck --help`' });
    });
  for (const cmd of await resolveCommands(argv, commandsInHelpOrder)) parser = register(parser, cmd);
  await parser.parseAsync();
  return outcome.exitCode ?? ExitCode.Pass;
}

function report(error: unknown): ExitCode {
  if (error instanceof NetcheckError) {
    process.stderr.write(formatError(error));
    return error.exitCode;
  }
  process.stderr.write(`netcheck: internal error (please report): ${error instanceof Error ? error.stack : String(error)}\n`);
  return ExitCode.Internal;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
