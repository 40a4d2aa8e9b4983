/** `netcheck validate` end to end: the real CLI in a subprocess, its output and exit code. */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(repo, 'node_modules/.bin/tsx');
const main = path.join(repo, 'src/cli/main.ts');
const run = promisify(execFile);

async function netcheck(args: string[], cwd = repo): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, [main, ...args], { cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netcheck-validate-'));
  await writeFile(
    path.join(dir, 'typo.yaml'),
    [
      'apiVersion: netcheck.io/v1alpha1',
      'kind: Scenario',
      'metadata: { name: typo }',
      'sources:',
      '  serving: { namespce: financial-ml }',
    ].join('\n'),
  );
  await mkdir(path.join(dir, 'platform'));
  await writeFile(
    path.join(dir, 'platform', 'apps.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: api, namespace: shop }',
      'spec:',
      '  selector: { matchLabels: { app: api } }',
      '  template:',
      '    metadata: { labels: { app: api } }',
      '    spec: { containers: [{ name: api, image: nginx, ports: [{ containerPort: 8080 }] }] }',
    ].join('\n'),
  );
  await writeFile(
    path.join(dir, 'missing-workload.yaml'),
    [
      'apiVersion: netcheck.io/v1alpha1',
      'kind: Scenario',
      'metadata: { name: shop }',
      'manifests: [./platform]',
      'sources:',
      '  web: { namespace: shop, as: deployment/ap1 }',
      'targets:',
      '  dns: { dns: kube-dns.kube-system.svc.cluster.local }',
      'matrix:',
      '  web: { allow: [dns] }',
    ].join('\n'),
  );
}, 30_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('netcheck validate', () => {
  it('accepts the built-in scenario by name: one summary line, exit 0', async () => {
    const { code, stdout, stderr } = await netcheck(['validate', 'financial-ml']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(
      'financial-ml: valid — 5 sources, 12 targets, 33 cells (26 allow, 7 deny), 8 known gaps, matches the manifests (7 workloads, 7 services)\n',
    );
  }, 60_000);

  it.each([
    {
      name: 'a typo in the scenario',
      args: ['validate', 'typo.yaml'],
      stderr: 'netcheck: typo.yaml:5:14: unknown key `namespce` in source `serving`; did you mean `namespace`?\n',
    },
    {
      name: 'a workload missing from the scenario\'s manifests',
      args: ['validate', 'missing-workload.yaml'],
      stderr: 'netcheck: missing-workload.yaml:6:3: source `web`: the manifests have no deployment/ap1 in namespace `shop`; did you mean `deployment/api`?\n',
    },
    {
      name: 'an unknown built-in name',
      args: ['validate', 'financial-mk'],
      stderr: 'netcheck: financial-mk: no such file, and no built-in scenario of that name; did you mean `financial-ml`?\n  hint: built-in scenarios: financial-ml\n',
    },
  ])('rejects $name: one error line naming the place, exit 2, no stack trace', async ({ args, stderr }) => {
    const result = await netcheck(args, dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(stderr);
  }, 60_000);
});
