/** `--help` of every command through the built CLI: exit 0, every flag described, examples where users start. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'bin', 'main.js');

const cases: Array<{ command: string; flags: string[]; examples: boolean }> = [
  { command: 'run', flags: ['--kubeconfig', '--context', '--output', '--timeout', '--budget', '--retries', '--per-node', '--image', '--image-pull-secret', '--progress', '--from', '--to', '--failures-only', '--show-known'], examples: true },
  { command: 'probe', flags: ['--from', '--to', '--expect', '--http', '--protocol', '--kubeconfig', '--context', '--output', '--failures-only'], examples: true },
  { command: 'snapshot', flags: ['--from', '--to', '--output', '--against'], examples: true },
  { command: 'analyze', flags: ['--manifests', '--port', '--protocol', '--output'], examples: true },
  { command: 'explain', flags: ['--manifests', '--from', '--to', '--port', '--protocol'], examples: true },
  { command: 'lint', flags: ['--manifests', '--output'], examples: true },
  { command: 'validate', flags: [], examples: true },
  { command: 'cleanup', flags: ['--all-namespaces', '--namespace', '--kubeconfig', '--context', '--run'], examples: true },
];

describe('--help', () => {
  it.each(cases)('netcheck $command --help', ({ command, flags, examples }) => {
    const r = spawnSync(process.execPath, [cli, command, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const flag of flags) {
      // The flag's line carries a description before yargs' [type] column.
      expect(r.stdout).toMatch(new RegExp(`${flag} +[a-zA-Z(]`));
    }
    if (examples) expect(r.stdout).toMatch(new RegExp(`Examples:\\n  netcheck ${command} `));
  });
});
