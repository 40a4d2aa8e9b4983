/** Test helpers for the scenario layer's bad-input paths: what a call throws, checked to be bad input (exit 2). */
import { expect } from 'vitest';
import { ExitCode, ScenarioError, UsageError } from '../../src/model/errors.js';
import { parseScenario } from '../../src/scenario/parse.js';

/** The error `f` throws, asserted to be an instance of `kind` with exit code 2. */
export function thrownBadInput<E extends Error>(kind: abstract new (...args: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(kind);
    expect((error as { exitCode?: number }).exitCode).toBe(ExitCode.BadInput);
    return error as E;
  }
  throw new Error(`expected a ${kind.name}`);
}

export const usageError = (f: () => unknown): UsageError => thrownBadInput(UsageError, f);

/** The message of the ScenarioError that parsing `text` (as demo.yaml) throws. */
export const parseError = (text: string): string => thrownBadInput(ScenarioError, () => parseScenario(text, 'demo.yaml')).message;

/** `base` with some of its lines (numbered from 1) replaced: a scenario file one edit away from a valid one. */
export function withLines(base: readonly string[], changes: Record<number, string>): string {
  return base.map((line, i) => changes[i + 1] ?? line).join('\n') + '\n';
}
