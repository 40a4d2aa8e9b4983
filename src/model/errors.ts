/**
 * Typed errors. Each carries the process exit code it maps to and a hint for the user;
 * the CLI boundary (src/cli/main.ts) turns them into one human line. Nothing else exits.
 */
export const ExitCode = {
  /** Every expectation held. */
  Pass: 0,
  /**
   * A policy regression: a cell's intent disagrees with what the policies say (or nothing can say who is
   * right); also an error-severity lint finding.
   */
  Mismatch: 1,
  /** Bad input: flags, scenario, manifests. */
  BadInput: 2,
  /** Infrastructure: cluster unreachable, forbidden, probe pod could not run, budget exceeded. */
  Infrastructure: 3,
  /**
   * An environment fault and nothing worse: the policies agree with the intent, the cluster does otherwise
   * (a CNI that does not enforce, a broken node, a Service without endpoints, DNS down).
   */
  Environment: 4,
  /** A bug in netcheck itself. */
  Internal: 70,
  /** Stopped by SIGINT after cleaning up (128 + 2, as shells report it). */
  Interrupted: 130,
  /** Stopped by SIGTERM after cleaning up (128 + 15). */
  Terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface NetcheckErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class NetcheckError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, exitCode: ExitCode, options: NetcheckErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** Where in an input file something went wrong (1-based line and column). */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export function formatLocation(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
}

/** A scenario or manifest file is wrong. Message is prefixed with file:line:column. */
export class ScenarioError extends NetcheckError {
  readonly location: SourceLocation;
  constructor(location: SourceLocation, message: string, options: NetcheckErrorOptions = {}) {
    super(`${formatLocation(location)}: ${message}`, ExitCode.BadInput, options);
    this.location = location;
  }
}

/** A command-line flag is wrong. */
export class UsageError extends NetcheckError {
  constructor(message: string, options: NetcheckErrorOptions = {}) {
    super(message, ExitCode.BadInput, options);
  }
}

/** The Kubernetes API refused or failed a request. */
export class ClusterError extends NetcheckError {
  readonly verb: string | undefined;
  readonly resource: string | undefined;
  readonly namespace: string | undefined;
  readonly reason: string;
  constructor(
    message: string,
    details: { verb?: string; resource?: string; namespace?: string; reason: string },
    options: NetcheckErrorOptions = {},
  ) {
    super(message, ExitCode.Infrastructure, options);
    this.verb = details.verb;
    this.resource = details.resource;
    this.namespace = details.namespace;
    this.reason = details.reason;
  }
}

/** A probe pod could not run (image pull, admission, quota, scheduling) or the budget ran out. */
export class ProbeError extends NetcheckError {
  readonly pod: string | undefined;
  readonly reason: string;
  constructor(message: string, details: { pod?: string; reason: string }, options: NetcheckErrorOptions = {}) {
    super(message, ExitCode.Infrastructure, options);
    this.pod = details.pod;
    this.reason = details.reason;
  }
}

/** An invariant broke: a netcheck bug. */
export class InternalError extends NetcheckError {
  constructor(message: string, options: NetcheckErrorOptions = {}) {
    super(message, ExitCode.Internal, options);
  }
}
