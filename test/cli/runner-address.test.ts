/** `--runner-address` through the built CLI: a bad value is one line naming the flag, exit 2, before any cluster is read. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'bin', 'main.js');

describe('--runner-address', () => {
  it.each([
    ['run', 'ci.example.com', /^netcheck: --runner-address ci\.example\.com: `ci\.example\.com` is not an IP address$/m],
    ['snapshot', '10.0.0.0/8', /^netcheck: --runner-address 10\.0\.0\.0\/8: `10\.0\.0\.0\/8` is a CIDR; give one IP address$/m],
  ])('%s --runner-address %s: exit 2, one line', (command, value, message) => {
    const args = command === 'snapshot' ? ['snapshot', 'financial-ml', '-o', join(root, 'nonexistent-dir', 's.json')] : ['run', 'financial-ml'];
    // KUBECONFIG points nowhere: a value that got past the check would fail on the cluster instead.
    const r = spawnSync(process.execPath, [cli, ...args, '--runner-address', value], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: '/nonexistent' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
