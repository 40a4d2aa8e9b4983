/**
 * Flag checks that run before yargs' own validation, so every mistake becomes ONE line that names the flag and
 * what to do. yargs checks required flags before unknown ones, which turns `--manifest DIR` (a typo) into
 * "Missing required argument: manifests" plus a second line; here the typo is reported first, with a suggestion.
 */
import { NetcheckError, UsageError } from '../model/errors.js';
import { findNearestName } from '../scenario/nearest-name.js';

export type ParsedArgs = Record<string, unknown> & { _: Array<string | number> };

/** What a command's parser declares, as yargs reports it from inside the command. */
interface DeclaredFlags {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  string: string[];
  boolean: string[];
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
 * yargs reads `--per-node=maybe` (any value but `true`) as false, silently. The command line as typed is the
 * only place the value is still visible. Every spelling yargs accepts is checked: `--flag=`, `--no-flag=`, `-f=`.
 */
function checkBooleanValues(raw: readonly string[], declared: DeclaredFlags, help: string): void {
  const booleans = new Set(declared.boolean.flatMap((key) => [key, ...(declared.alias[key] ?? [])]));
  for (const arg of raw) {
    if (arg === '--') return;
    const match = /^--?(?:no-)?([^=]+)=(.*)$/s.exec(arg);
    if (!match || !booleans.has(match[1] as string) || match[2] === 'true' || match[2] === 'false') continue;
    const flag = arg.slice(0, arg.indexOf('='));
    throw new UsageError(`${arg}: ${flag} is a switch; give it alone, or =true or =false`, { hint: `run \`${help}\`` });
  }
}

/**
 * yargs turns what a `coerce` function throws into its own error with the message only, so a flag's hint
 * would be lost. A coerce function wrapped here keeps its NetcheckError for main.ts's fail handler
 * (takeCoerceError) to rethrow whole.
 */
let lastCoerceError: NetcheckError | undefined;
export function keepingHint<T>(coerce: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return coerce(value);
    } catch (error) {
      if (error instanceof NetcheckError) lastCoerceError = error;
      throw error;
    }
  };
}

/** The NetcheckError a keepingHint coerce function threw with this message, once. */
export function takeCoerceError(message: string | undefined): NetcheckError | undefined {
  const error = lastCoerceError;
  lastCoerceError = undefined;
  return error !== undefined && error.message === message ? error : undefined;
}

/**
 * Throws a UsageError for the first unknown flag (with "did you mean"), a switch given a value other than
 * true/false, a string flag given without a value, or missing required flags (all named in one line).
 */
export function checkFlags(
  argv: ParsedArgs,
  parser: CommandParser,
  command: string | undefined,
  /** Positionals that yargs does not list among the options (variadic ones such as `[extra..]`). */
  positionals: readonly string[] = [],
  /** The command line as typed (without node and the script). */
  raw: readonly string[] = [],
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
  checkBooleanValues(raw, declared, help);
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
