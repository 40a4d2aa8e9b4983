/**
 * `netcheck explain` and `netcheck analyze` on manifests holding a ClusterNetworkPolicy (v1alpha2), through the
 * built CLI: the deciding rule is named with its tier, priority, rule name and action; an egress `networks` CIDR
 * holding the whole pod network decides for address-less pods (issue 16); a narrower one is NOT CERTAIN.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { built, MAIN } from '../e2e/built-cli.js';

const root = join(import.meta.dirname, '..', '..');
const DIR = 'test/fixtures/policy/cluster-network-policy';

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, KUBECONFIG: '/nonexistent' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!built)('explain / analyze with a ClusterNetworkPolicy', () => {
  it('0.0.0.0/0 denies the address-less pod, naming the CNP, its tier, priority, rule and action', () => {
    const r = cli('explain', '-f', DIR, '--from', 'ns-a/a', '--to', 'ns-b/b', '--port', '8080');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('DENIED: ns-a/a -> ns-b/b on 8080/TCP');
    expect(r.stdout).toContain("  egress from ns-a/a: DENIED by ClusterNetworkPolicy egress-guard (tier Admin, priority 10) egress[1] 'deny-everywhere': Deny");
    expect(r.stdout).not.toContain('NOT CERTAIN');
  });

  it('a narrower CIDR toward a pod without an address: NOT CERTAIN, naming the rule and what it depends on', () => {
    const r = cli('explain', '-f', DIR, '--from', 'ns-a/a', '--to', 'ns-b/b', '--port', 'metrics');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('ALLOWED: ns-a/a -> ns-b/b on 9090/TCP');
    expect(r.stdout).toContain('  NOT CERTAIN: the verdict depends on what the input does not say:');
    expect(r.stdout).toContain("    - ClusterNetworkPolicy egress-guard (tier Admin, priority 10) egress[0] 'deny-office-range': Deny applies if the address of ns-b/b is in 10.20.0.0/16, and the input gives no address for it (no status.podIP)");
  });

  it('analyze -o json: the cell carries the deciding rule and the uncertain one', () => {
    const r = cli('analyze', '-f', DIR, '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    const cells = (JSON.parse(r.stdout) as { cells: Array<{ from: string; to: string; port: number; allowed: boolean; egress?: { decidedBy?: string }; dependsOn?: string[] }> }).cells;
    const at = (port: number) => cells.find((c) => c.from === 'ns-a/a' && c.to === 'ns-b/b' && c.port === port);
    expect(at(8080)).toMatchObject({ allowed: false, egress: { decidedBy: "ClusterNetworkPolicy egress-guard (tier Admin, priority 10) egress[1] 'deny-everywhere': Deny" } });
    expect(at(9090)?.dependsOn?.[0]).toMatch(/'deny-office-range': Deny applies if the address of ns-b\/b is in 10\.20\.0\.0\/16/);
  });
});
