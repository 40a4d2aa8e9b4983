import type { AnyCommand } from '../command.js';
import { analyzeCommand } from './analyze.js';
import { checkCommand } from './check.js';
import { explainCommand } from './explain.js';
import { lintCommand } from './lint.js';
import { validateCommand } from './validate.js';
import { cleanupCommand } from './cleanup.js';
import { diffCommand } from './diff.js';
import { runCommand, scenarioShorthandCommand } from './run.js';
import { snapshotCommand } from './snapshot.js';

/** Every command; each lives in its own file beside this one. */
export const commands: AnyCommand[] = [
  analyzeCommand,
  explainCommand,
  lintCommand,
  validateCommand,
  checkCommand,
  cleanupCommand,
  runCommand,
  snapshotCommand,
  diffCommand,
  // The default command ($0) must come last so named commands win.
  scenarioShorthandCommand,
];
