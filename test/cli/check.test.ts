/**
 * `netcheck check` end to end on real inputs: the built-in financial-ml scenario and its manifests, and copies of
 * them with one thing changed. The real CLI in a subprocess (tsx on src/, as validate's test runs it); no cluster.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repo, runNetcheck as netcheck } from '../scenario/netcheck-cli.js';

let dir: string;

/** A copy of the built-in scenario with its manifests, as `name/`, after `edit` ran on it. */
async function copyScenario(name: string, edit: (root: string) => Promise<void>): Promise<void> {
  const root = path.join(dir, name);
  await cp(path.join(repo, 'scenarios/financial-ml'), root, { recursive: true });
  await edit(root);
}

async function replaceIn(file: string, from: RegExp | string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`${file}: nothing matched ${String(from)}`);
  await writeFile(file, changed);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'netcheck-check-'));
  // The known gap training → predictor removed: the intent (allow) now contradicts the policies with no excuse.
  await copyScenario('gap-removed', (root) =>
    replaceIn(path.join(root, 'scenario.yaml'), /  - from: training\n    to: predictor\n    reason: >-\n(      .*\n)+/, ''),
  );
  // financial-ml-isolation's egress to `[]` opens TCP 9000 too: serving reaches MinIO, so its known gap is stale.
  await copyScenario('gap-fixed', (root) =>
    replaceIn(path.join(root, 'manifests/policies.yaml'), '      port: 4318  # OpenTelemetry\n', '      port: 4318  # OpenTelemetry\n    - protocol: TCP\n      port: 9000\n'),
  );
  await writeFile(
    path.join(dir, 'no-manifests.yaml'),
    [
      'apiVersion: netcheck.io/v1alpha1',
      'kind: Scenario',
      'metadata: { name: bare }',
      'sources:',
      '  a: { namespace: x }',
      'targets:',
      '  dns: { dns: kube-dns.kube-system.svc.cluster.local }',
      'matrix:',
      '  a: { allow: [dns] }',
    ].join('\n'),
  );
  // A platform where policy cannot decide two cells offline: the runner into an ipBlock-guarded pod (its address as
  // the pod sees it is unknown without a cluster) and a pod to an address outside the cluster.
  await writeFile(
    path.join(dir, 'undecided-manifests.yaml'),
    [
      'apiVersion: v1',
      'kind: Namespace',
      'metadata: { name: shop, labels: { name: shop } }',
      '---',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: web, namespace: shop }',
      'spec:',
      '  selector: { matchLabels: { app: web } }',
      '  template:',
      '    metadata: { labels: { app: web } }',
      '    spec: { containers: [{ name: web, image: nginx, ports: [{ containerPort: 8080 }] }] }',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: { name: web, namespace: shop }',
      'spec: { type: LoadBalancer, loadBalancerIP: 192.0.2.10, selector: { app: web }, ports: [{ port: 80, targetPort: 8080 }] }',
      '---',
      'apiVersion: networking.k8s.io/v1',
      'kind: NetworkPolicy',
      'metadata: { name: from-office, namespace: shop }',
      'spec:',
      '  podSelector: {}',
      '  policyTypes: [Ingress]',
      '  ingress: [{ from: [{ ipBlock: { cidr: 198.51.100.0/24 } }] }]',
    ].join('\n'),
  );
  await writeFile(
    path.join(dir, 'undecided.yaml'),
    [
      'apiVersion: netcheck.io/v1alpha1',
      'kind: Scenario',
      'metadata: { name: undecided }',
      'manifests: [./undecided-manifests.yaml]',
      'sources:',
      '  web: { namespace: shop, as: deployment/web }',
      '  ci: { runner: true }',
      'targets:',
      '  web-lb: { address: 192.0.2.10, port: 80 }',
      '  outside: { address: 203.0.113.50, port: 443 }',
      'matrix:',
      '  web: { allow: [outside] }',
      '  ci: { allow: [web-lb] }',
      'known:',
      '  - { from: ci, to: web-lb, reason: "the office range only" }',
    ].join('\n'),
  );
}, 30_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('netcheck check', () => {
  it('passes the built-in financial-ml scenario: its known gaps reproduce, every other cell agrees', async () => {
    const { code, stdout, stderr } = await netcheck(['check', 'financial-ml']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Known gaps, still produced by the policies (8):');
    expect(stdout).not.toContain('Failures');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('PASS 32 cells: 24 agree, 0 contradict, 8 known gaps');
  }, 60_000);

  it('fails with exit 1 when a known gap is removed, naming the cell, its matrix line and the policy rule', async () => {
    const { code, stdout } = await netcheck(['check', 'gap-removed'], dir);
    expect(code).toBe(1);
    expect(stdout).toContain('Failures (1):');
    expect(stdout).toContain('✗ training → predictor: intent allow, policy deny (gap-removed/scenario.yaml:41:90)');
    expect(stdout).toContain(
      'why: intent allow, but the policies deny it: egress: denied, isolated by financial-mlops-pytorch/financial-mlops-pytorch-baseline and no rule admits TCP/8080',
    );
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('FAIL 32 cells: 24 agree, 1 contradict, 7 known gaps');
  }, 60_000);

  it('fails with exit 1 when the policies no longer produce a known gap, pointing at the stale `known:` entry', async () => {
    const { code, stdout } = await netcheck(['check', 'gap-fixed'], dir);
    expect(code).toBe(1);
    const known = (await readFile(path.join(dir, 'gap-fixed/scenario.yaml'), 'utf8')).split('\n').findIndex((l) => l === '    to: minio-lb');
    expect(stdout).toContain('✗ serving → minio-lb: intent allow, policy allow');
    // The entry starts one line above its `to:` (`- from: serving`), at column 5.
    expect(stdout).toContain(`why: stale \`known:\` entry at gap-fixed/scenario.yaml:${known}:5: the policies now allow it, as intended; remove the entry`);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('FAIL 32 cells: 24 agree, 0 contradict, 1 stale known gap, 7 known gaps');
  }, 60_000);

  it('writes JUnit that validates against the JUnit schema: failures for contradictions, skipped for known gaps', async () => {
    const junit = path.join(dir, 'check.xml');
    const markdown = path.join(dir, 'check.md');
    const { code, stdout } = await netcheck(['check', 'gap-removed', '-o', `junit=${junit}`, '-o', `markdown=${markdown}`, '-o', 'json'], dir);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).summary).toEqual({ total: 32, agrees: 24, contradicts: 1, knownGaps: 7, staleKnown: 0, undecided: 0, failed: 1 });
    const xml = await readFile(junit, 'utf8');
    const lint = spawnSync('xmllint', ['--noout', '--schema', path.join(repo, 'test/fixtures/junit/junit-10.xsd'), junit], { encoding: 'utf8' });
    expect(lint.stderr).toBe(`${junit} validates\n`);
    expect(lint.status).toBe(0);
    expect(xml).toContain('<testsuite name="financial-ml" tests="32" failures="1" errors="0" skipped="7" time="0">');
    expect(xml).toMatch(/<testcase classname="financial-ml.training" name="training → predictor \(allow\)" time="0">\n {6}<failure message="intent allow, but the policies deny it: egress: denied, isolated by financial-mlops-pytorch\/financial-mlops-pytorch-baseline/);
    expect(xml).toContain('<testcase classname="financial-ml.serving" name="serving → mlflow-lb (allow)" time="0">\n      <skipped message="known gap');
    expect(await readFile(markdown, 'utf8')).toMatch(/^## netcheck check · financial-ml · ❌ 1 failed\n/);
  }, 60_000);

  it('reports cells policy cannot decide offline as undecided, without failing and without calling a known gap stale', async () => {
    const { code, stdout } = await netcheck(['check', 'undecided.yaml'], dir);
    expect(code).toBe(0);
    expect(stdout).toContain('Undecided offline (netcheck run decides them) (2):');
    expect(stdout).toContain('? web → outside: intent allow, policy unknown');
    expect(stdout).toContain('? ci → web-lb: intent allow, policy unknown');
    expect(stdout).toContain("the runner's address as the cluster sees it is not known: give --runner-address or `address:` on the runner source");
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('PASS 2 cells: 0 agree, 0 contradict, 0 known gaps, 2 undecided offline');
  }, 60_000);

  it('--runner-address decides the runner\'s cells offline: inside the ipBlock the known gap no longer reproduces, outside it does; a bad address is exit 2 naming the flag', async () => {
    const inside = await netcheck(['check', 'undecided.yaml', '--runner-address', '198.51.100.7'], dir);
    expect(inside.code).toBe(1);
    expect(inside.stdout).not.toContain("the runner's address as the cluster sees it is not known");
    expect(inside.stdout).toContain("✗ ci → web-lb: intent allow, policy allow");
    expect(inside.stdout).toContain("why: stale `known:` entry");
    const outside = await netcheck(['check', 'undecided.yaml', '--runner-address', '203.0.113.9'], dir);
    expect(outside.code).toBe(0);
    expect(outside.stdout).toContain('~ ci → web-lb: intent allow, policy deny');
    const bad = await netcheck(['check', 'undecided.yaml', '--runner-address', 'nope'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('netcheck: --runner-address nope: `nope` is not an IP address');
  }, 60_000);

  it.each([
    { name: 'a scenario without manifests', args: ['check', 'no-manifests.yaml'], stderr: 'netcheck: no-manifests.yaml: the scenario names no `manifests:`, so there are no policies to check it against\n' },
    { name: 'a junit report on stdout', args: ['check', 'financial-ml', '-o', 'junit'], stderr: 'netcheck: -o junit: name the file, e.g. -o junit=netcheck.xml\n' },
  ])('rejects $name with exit 2', async ({ args, stderr }) => {
    const result = await netcheck(args, dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0] + '\n').toBe(stderr);
  }, 60_000);
});
