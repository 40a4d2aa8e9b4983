/**
 * The scenario file reader (the one I/O part of src/scenario): a path, a directory holding `scenario.yaml`,
 * or the bare name of a built-in scenario shipped in the package's `scenarios/<name>/scenario.yaml`.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, NetcheckError, ScenarioError, UsageError } from '../model/errors.js';
import { snapshotFromManifestFiles, type ManifestSnapshot } from '../policy/manifests.js';
import { readInputFiles } from './files.js';
import { formatSuggestion } from './nearest-name.js';
import { parseScenario } from './parse.js';
import type { Scenario } from './types.js';

import { listBuiltinScenarios, locateBuiltinScenariosDir, SCENARIO_FILE } from './builtins.js';

export { listBuiltinScenarios, locateBuiltinScenariosDir };

/** Resolves what the user typed to an absolute scenario file, or throws a ScenarioError naming the choices. */
export function resolveScenarioPath(pathOrName: string, cwd: string = process.cwd()): string {
  const candidate = path.resolve(cwd, pathOrName);
  if (existsSync(candidate)) {
    if (!statSync(candidate).isDirectory()) return candidate;
    const inside = path.join(candidate, SCENARIO_FILE);
    if (existsSync(inside)) return inside;
    throw new ScenarioError({ file: pathOrName }, `directory holds no ${SCENARIO_FILE}`);
  }
  const builtins = listBuiltinScenarios();
  if (builtins.includes(pathOrName)) return path.join(locateBuiltinScenariosDir(), pathOrName, SCENARIO_FILE);
  const looksLikeName = !pathOrName.includes('/') && !pathOrName.includes(path.sep) && !/\.ya?ml$/i.test(pathOrName);
  throw new ScenarioError(
    { file: pathOrName },
    looksLikeName ? `no such file, and no built-in scenario of that name${formatSuggestion(pathOrName, builtins)}` : 'no such file',
    { hint: builtins.length > 0 ? `built-in scenarios: ${builtins.join(', ')}` : undefined },
  );
}

/** Reads and parses a scenario. Errors name the path relative to `cwd` when it lies below it. */
export async function loadScenario(pathOrName: string, cwd: string = process.cwd()): Promise<Scenario> {
  const file = resolveScenarioPath(pathOrName, cwd);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioError({ file }, `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  const relative = path.relative(cwd, file);
  const shown = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
  return { ...parseScenario(text, shown, { baseDir: path.dirname(file) }), file };
}

/** The platform a scenario's `manifests:` describe, as a snapshot; a missing path is bad input naming the scenario. */
export async function readScenarioManifests(scenario: Scenario): Promise<ManifestSnapshot> {
  const files = await readInputFiles(scenario.manifests).catch((error: unknown) => {
    // readInputFiles speaks of flags; here the path came from the scenario's `manifests:` list.
    if (!(error instanceof NetcheckError) || error.exitCode !== ExitCode.BadInput) throw error;
    throw new UsageError(`${scenario.file}: manifests: ${error.message}`, {
      hint: 'paths in `manifests:` are relative to the scenario file',
      cause: error,
    });
  });
  return snapshotFromManifestFiles(files);
}
