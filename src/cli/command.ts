import type { Argv, CommandModule } from 'yargs';
import type { ExitCode } from '../model/errors.js';

/**
 * A netcheck command: parse flags, call one function, print, return the exit code.
 * Commands never call process.exit; src/cli/main.ts owns exiting.
 */
export interface NetcheckCommand<A = Record<string, unknown>> {
  command: string | string[];
  describe: string;
  builder: (yargs: Argv) => Argv<A>;
  run: (argv: A) => Promise<ExitCode>;
}

/** Set by the handler that ran; read by main. */
export const outcome: { exitCode: ExitCode | undefined } = { exitCode: undefined };

export function toYargsModule<A>(cmd: NetcheckCommand<A>): CommandModule<object, A> {
  return {
    command: cmd.command,
    describe: cmd.describe,
    builder: cmd.builder as CommandModule<object, A>['builder'],
    handler: async (argv) => {
      outcome.exitCode = await cmd.run(argv as unknown as A);
    },
  };
}
