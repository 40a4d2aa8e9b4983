import type { NetcheckCommand } from '../command.js';
import { validateCommand } from './validate.js';
import { cleanupCommand } from './cleanup.js';

/** Every command; each lives in its own file beside this one. */
export const commands: NetcheckCommand<never>[] = [
  validateCommand as unknown as NetcheckCommand<never>,
  cleanupCommand as unknown as NetcheckCommand<never>,
];
