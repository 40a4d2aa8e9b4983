/**
 * The built-in scenarios, found on disk: apart from load.ts so the CLI can name them (the `netcheck financial-ml`
 * shorthand, "did you mean") without loading the scenario parser and YAML at start-up.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCENARIO_FILE = 'scenario.yaml';

/**
 * The package's `scenarios/` directory. This module runs from `src/scenario/` (tsx), `dist/src/scenario/`
 * (built) or `dist/bin/` (the bundle), so walk up to the directory that holds package.json rather than counting `..`.
 */
export function locateBuiltinScenariosDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'scenarios'))) return path.join(dir, 'scenarios');
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scenarios');
    dir = parent;
  }
}

/** Names of the built-in scenarios (directories with a scenario.yaml), sorted. */
export function listBuiltinScenarios(): string[] {
  const root = locateBuiltinScenariosDir();
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(root, entry.name, SCENARIO_FILE)))
    .map((entry) => entry.name)
    .sort();
}

