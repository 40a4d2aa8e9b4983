import type { NetcheckCommand } from '../command.js';
import { validateCommand } from './validate.js';

/** Every command; each lives in its own file beside this one. */
export const commands: NetcheckCommand<never>[] = [
  validateCommand as unknown as NetcheckCommand<never>,
];
