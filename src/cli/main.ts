#!/usr/bin/env node
/**
 * The CLI boundary: the one place that prints errors and exits.
 * Typed NetcheckErrors become one human line plus a hint; anything else is a bug (exit 70, with stack).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitCode, NetcheckError, UsageError } from '../model/errors.js';
import { outcome } from './command.js';
import { commands } from './commands/index.js';

async function main(argv: string[]): Promise<ExitCode> {
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
    .fail((message, error) => {
      if (error) throw error;
      throw new UsageError(message ?? 'invalid command line', { hint: 'run `netcheck --help`' });
    });
  for (const cmd of commands) parser = cmd.register(parser);
  await parser.parseAsync();
  return outcome.exitCode ?? ExitCode.Pass;
}

function report(error: unknown): ExitCode {
  if (error instanceof NetcheckError) {
    process.stderr.write(`netcheck: ${error.message}\n`);
    if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
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
