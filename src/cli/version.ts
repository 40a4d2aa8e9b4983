/** netcheck's own version, from the package.json it was installed with (recorded in snapshots). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function netcheckVersion(): string {
  if (cached !== undefined) return cached;
  // From dist/bin (the bundle), dist/src/cli (tsc) or src/cli (tsx) up to the package root: the first package.json that is netcheck's.
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kube-netcheck' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // no package.json here: keep going up
    }
  }
  return (cached = 'unknown');
}
