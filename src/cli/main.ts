#!/usr/bin/env node
/**
 * The CLI boundary: the one place that prints errors and exits.
 * Typed NetcheckErrors become one human line plus a hint; anything else is a bug (exit 70, with stack).
 */
import yargs, { type MiddlewareFunction } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode, NetcheckError, UsageError } from '../model/errors.js';
import { formatError, outcome } from './command.js';
import { commands } from './commands/index.js';
import { checkShorthandWord, listWords } from './commands/run.js';
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

async function main(argv: string[]): Promise<ExitCode> {
  const words = listWords(commands);
  let parser = yargs(argv)
    .scriptName('netcheck')
    .usage('$0 <command> [options]\n\nDoes the network behave the way your NetworkPolicies say it should — and if not, why?')
    .strict()
    .demandCommand(1, 'Name a command (or a built-in scenario, e.g. `netcheck financial-ml`). See --help.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
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
  for (const cmd of commands) parser = cmd.register(parser);
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
