/** `netcheck validate` end to end: the real CLI in a subprocess, its output and exit code. */
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo, runNetcheck as netcheck } from './netcheck-cli.js';

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
  // financial-ml with its known gap training → predictor removed: valid, but the intent contradicts the policies.
  await cp(path.join(repo, 'scenarios/financial-ml'), path.join(dir, 'contradicted'), { recursive: true });
  const file = path.join(dir, 'contradicted', 'scenario.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace(/  - from: training\n    to: predictor\n    reason: >-\n(      .*\n)+/, ''));
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
      'financial-ml: valid — 5 sources, 12 targets, 32 cells (25 allow, 7 deny), 8 known gaps, matches the manifests (7 workloads, 7 services)\n',
    );
  }, 60_000);

  it('accepts a scenario the policies contradict (exit 0) but warns and points at `netcheck check`', async () => {
    const { code, stdout, stderr } = await netcheck(['validate', 'contradicted'], dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^financial-ml: valid — .*, 7 known gaps, matches the manifests/);
    expect(stderr).toBe(
      'netcheck: warning: the policies in the manifests contradict 1 cell of this scenario (or a `known:` entry is stale); `netcheck check contradicted` says which (exit 1)\n',
    );
  }, 60_000);

  it.each([
    {
      name: 'a typo in the scenario',
      args: ['validate', 'typo.yaml'],
      // Every error of the file, not only the first.
      stderr: [
        'netcheck: typo.yaml: 3 errors:',
        '  typo.yaml:1:1: missing `targets`',
        '  typo.yaml:1:1: missing `matrix`',
        '  typo.yaml:5:14: unknown key `namespce` in source `serving`; did you mean `namespace`?',
        '',
      ].join('\n'),
    },
    {
      name: 'a workload missing from the scenario\'s manifests',
      args: ['validate', 'missing-workload.yaml'],
      stderr: 'netcheck: missing-workload.yaml:6:3: source `web`: the manifests have no deployment/ap1 in namespace `shop`; did you mean `deployment/api`?\n',
    },
    {
      name: 'an unknown built-in name',
      args: ['validate', 'financial-mk'],
      stderr: 'netcheck: financial-mk: no such file, and no built-in scenario of that name; did you mean `financial-ml`?\n  hint: built-in scenarios: financial-ml, financial-ml-calico\n',
    },
  ])('rejects $name: one error line naming the place, exit 2, no stack trace', async ({ args, stderr }) => {
    const result = await netcheck(args, dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(stderr);
  }, 60_000);
});
