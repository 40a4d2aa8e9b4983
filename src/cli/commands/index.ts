import type { NetcheckCommand } from '../command.js';
import { analyzeCommand } from './analyze.js';
import { explainCommand } from './explain.js';
import { lintCommand } from './lint.js';
import { validateCommand } from './validate.js';
import { cleanupCommand } from './cleanup.js';
import { runCommand, scenarioShorthandCommand } from './run.js';

/** Every command; each lives in its own file beside this one. */
export const commands: NetcheckCommand<never>[] = [
  analyzeCommand as unknown as NetcheckCommand<never>,
  explainCommand as unknown as NetcheckCommand<never>,
  lintCommand as unknown as NetcheckCommand<never>,
  validateCommand as unknown as NetcheckCommand<never>,
  cleanupCommand as unknown as NetcheckCommand<never>,
  runCommand as unknown as NetcheckCommand<never>,
  // The default command ($0) must come last so named commands win.
  scenarioShorthandCommand as unknown as NetcheckCommand<never>,
];
