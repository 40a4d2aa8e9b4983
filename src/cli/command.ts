import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { ExitCode, NetcheckError } from '../model/errors.js';

/**
 * A netcheck command: parse flags, call one function, print, return the exit code.
 * Commands never call process.exit; src/cli/main.ts owns exiting.
 */
export interface NetcheckCommand<A> {
  command: string | string[];
  describe: string;
  builder: (yargs: Argv) => Argv<A>;
  /** yargs hands over every flag under its own name and its camelCase alias. */
  run: (argv: ArgumentsCamelCase<A>) => Promise<ExitCode>;
}

/**
 * A command whose argument type has been sealed inside `register`, so commands with different flags
 * share one list without casts.
 */
export interface AnyCommand {
  readonly command: string | readonly string[];
  readonly describe: string;
  /** Adds the command to a parser; its handler records the exit code for main to read. */
  register: (parser: Argv) => Argv;
}

/** Set by the handler that ran; read by main. */
export const outcome: { exitCode: ExitCode | undefined } = { exitCode: undefined };

export function defineCommand<A>(cmd: NetcheckCommand<A>): AnyCommand {
  const module: CommandModule<object, A> = {
    command: cmd.command,
    describe: cmd.describe,
    builder: cmd.builder,
    handler: async (argv) => {
      outcome.exitCode = await cmd.run(argv);
    },
  };
  return { command: cmd.command, describe: cmd.describe, register: (parser) => parser.command(module) };
}

/** An expected failure as the user sees it: one line, plus the hint when there is one. */
export function formatError(error: NetcheckError): string {
  return `netcheck: ${error.message}\n${error.hint ? `  hint: ${error.hint}\n` : ''}`;
}
