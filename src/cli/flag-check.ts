/**
 * Flag checks that run before yargs' own validation, so every mistake becomes ONE line that names the flag and
 * what to do. yargs checks required flags before unknown ones, which turns `--manifest DIR` (a typo) into
 * "Missing required argument: manifests" plus a second line; here the typo is reported first, with a suggestion.
 */
import { UsageError } from '../model/errors.js';
import { findNearestName } from '../scenario/nearest-name.js';

export type ParsedArgs = Record<string, unknown> & { _: Array<string | number> };

/** What a command's parser declares, as yargs reports it from inside the command. */
interface DeclaredFlags {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  string: string[];
}

/**
 * yargs hands middleware the command's parser, whose getOptions()/getDemandedOptions() are public at run time
 * but missing from @types/yargs.
 */
export interface CommandParser {
  getOptions(): DeclaredFlags;
  getDemandedOptions(): Record<string, string | boolean | undefined>;
}

function toCamelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function spellFlag(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** Long names first, so a suggestion reads `--manifests`, not `-f`. */
function listFlagNames(declared: DeclaredFlags): string[] {
  const names = new Set<string>();
  for (const key of Object.keys(declared.key)) {
    names.add(key);
    for (const alias of declared.alias[key] ?? []) names.add(alias);
  }
  return [...names];
}

/**
 * Throws a UsageError for the first unknown flag (with "did you mean"), a string flag given without a
 * value, or missing required flags (all named in one line).
 */
export function checkFlags(
  argv: ParsedArgs,
  parser: CommandParser,
  command: string | undefined,
  /** Positionals that yargs does not list among the options (variadic ones such as `[extra..]`). */
  positionals: readonly string[] = [],
): void {
  const help = command === undefined ? 'netcheck --help' : `netcheck ${command} --help`;
  const subject = command ?? 'netcheck';
  const declared = parser.getOptions();
  const names = listFlagNames(declared);
  const known = new Set(['_', '$0', ...positionals, ...names, ...names.map(toCamelCase)]);
  const longNames = names.filter((n) => n.length > 1);
  for (const key of Object.keys(argv)) {
    if (known.has(key) || /^\d+$/.test(key)) continue;
    const near = key.length > 1 ? findNearestName(key, longNames) : undefined;
    throw new UsageError(`${spellFlag(key)}: unknown flag for ${subject}${near ? `; did you mean --${near}?` : ''}`, {
      hint: `run \`${help}\` for its flags`,
    });
  }
  for (const key of declared.string) {
    const value = argv[key];
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => v === '')) {
      throw new UsageError(`${spellFlag(key)}: needs a value`, { hint: `run \`${help}\`` });
    }
  }
  const demanded = parser.getDemandedOptions();
  const missing = Object.entries(demanded)
    .filter(([key]) => argv[key] === undefined)
    .map(([key, text]) => (typeof text === 'string' && text.startsWith('--') ? text : `--${key}`));
  if (missing.length > 0) {
    const list = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
    throw new UsageError(`${subject} needs ${list}`, { hint: `run \`${help}\` for an example` });
  }
}
