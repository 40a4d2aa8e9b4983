import type { NetcheckCommand } from '../command.js';

/** Every command; each lives in its own file beside this one. */
export const commands: NetcheckCommand<never>[] = [];
