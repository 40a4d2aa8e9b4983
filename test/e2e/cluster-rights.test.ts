/**
 * A run that survives what is missing and what it may not touch, on the REAL cluster (test/cluster-kit):
 * - a misspelled source namespace, a deleted target namespace, an `as:` workload that is not there: each fails its
 *   own cells with the reason (file:line, "did you mean"), the rest runs, reports are written, exit 3;
 * - deploy/rbac/role.yaml bound in financial-ml only, used through a real ServiceAccount token: the financial-ml
 *   cells and the runner's run, the cells needing other namespaces fail naming the missing verb, and what the
 *   inventory could not see is named with the command for the platform team;
 * - the same Role in every scenario namespace and no ClusterRole: the run works and says what it could not see
 *   (namespace labels, nodes; `--per-node` says it could not pin).
 * Asserted: classifications, reasons, findings, exit codes, the pods left behind — never wall time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli } from './built-cli.js';

interface Report {
  cells: CellVerdict[];
  findings: string[];
}

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e real cluster (rights): skipped — ${skip}`);

const ROLE = join(import.meta.dirname, '..', '..', 'deploy', 'rbac', 'role.yaml');
const SCENARIO_NAMESPACES = ['financial-ml', 'financial-mlops-pytorch', 'seldon-system', 'default', 'kube-system'];

describe.skipIf(skip !== undefined)('netcheck run with missing things and namespace-scoped rights, on the real cluster', { timeout: 300_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const report = (file: string): Report => JSON.parse(readFileSync(file, 'utf8')) as Report;
  const writeScenario = (name: string, body: Record<string, unknown>): string => {
    const file = join(dir, name);
    const scenario = { apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name: name.replace(/\.yaml$/, '') }, defaults: { timeout: '1s', retries: 0 }, ...body };
    writeFileSync(file, JSON.stringify(scenario, null, 2));
    return file;
  };
  /** deploy/rbac/role.yaml as shipped, with its namespace changed (as its header says to). */
  const applyRoleIn = async (namespace: string): Promise<void> => {
    const file = join(dir, `role-${namespace}.yaml`);
    writeFileSync(file, readFileSync(ROLE, 'utf8').replace(/namespace: financial-ml$/gm, `namespace: ${namespace}`));
    await kubectl('apply', '-f', file);
  };
  const deleteRoleIn = async (namespace: string): Promise<void> => {
    await kubectl('-n', namespace, 'delete', 'role,rolebinding', 'netcheck', '--ignore-not-found');
  };
  /** A kubeconfig holding a real token of ServiceAccount netcheck/netcheck (the subject role.yaml binds). */
  const serviceAccountKubeconfig = async (): Promise<string> => {
    await kubectl('create', 'namespace', 'netcheck').catch(() => undefined);
    await kubectl('-n', 'netcheck', 'create', 'serviceaccount', 'netcheck').catch(() => undefined);
    const token = (await kubectl('-n', 'netcheck', 'create', 'token', 'netcheck', '--duration=1h')).trim();
    return c.kubeconfigFor('netcheck-role-only', { token });
  };
  const noPodsLeft = async (): Promise<void> => {
    expect(await netcheckPodsLeft(client)).toEqual([]);
  };

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-rights-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a misspelled source namespace, a deleted target namespace and a missing `as:` workload fail their own cells; the rest runs, exit 3', async () => {
    // A namespace that existed and was deleted, with a listener target and a Service target in it.
    await kubectl('create', 'namespace', 'scratch');
    await kubectl('delete', 'namespace', 'scratch', '--wait=true', '--timeout=120s');
    const scenario = writeScenario('missing.yaml', {
      sources: {
        serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' },
        typo: { namespace: 'financial-mll', labels: { app: 'x' } },
        ghost: { namespace: 'financial-ml', as: 'deployment/no-such-predictor' },
      },
      targets: {
        predictor: { service: 'financial-predictor', namespace: 'financial-ml', port: 8080 },
        'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' },
        'gone-listener': { namespace: 'scratch', labels: { app: 'l' }, port: 8080 },
      },
      matrix: {
        serving: { allow: ['predictor', 'cluster-dns', 'gone-listener'] },
        typo: { allow: ['cluster-dns'] },
        ghost: { allow: ['cluster-dns'] },
      },
    });
    const json = join(dir, 'missing.json');
    const junit = join(dir, 'missing.xml');
    const run = await runBuiltCli(c, ['run', scenario, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage, '--budget', '90s', '--no-progress', '-o', `json=${json}`, '-o', `junit=${junit}`, '-o', 'table']);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(3);
    const { cells, findings } = report(json);
    const byName = new Map(cells.map((cell) => [`${cell.source} → ${cell.target}`, cell]));
    expect([...byName.keys()].sort()).toEqual(['ghost → cluster-dns', 'serving → cluster-dns', 'serving → gone-listener', 'serving → predictor', 'typo → cluster-dns']);
    // What exists ran and passed.
    expect(byName.get('serving → predictor')).toMatchObject({ pass: true, classification: 'pass' });
    expect(byName.get('serving → cluster-dns')).toMatchObject({ pass: true, classification: 'pass' });
    // Each missing thing fails its own cell, saying where in the scenario and what was probably meant.
    expect(byName.get('typo → cluster-dns')).toMatchObject({ classification: 'probe' });
    expect(byName.get('typo → cluster-dns')!.reason).toMatch(/namespace financial-mll not found \(missing\.yaml:\d+(:\d+)?\); did you mean financial-ml\?/);
    expect(byName.get('serving → gone-listener')).toMatchObject({ classification: 'probe' });
    expect(byName.get('serving → gone-listener')!.reason).toMatch(/namespace scratch not found \(missing\.yaml:\d+/);
    expect(byName.get('ghost → cluster-dns')).toMatchObject({ classification: 'probe' });
    expect(byName.get('ghost → cluster-dns')!.reason).toMatch(/deployment\/no-such-predictor not found in namespace financial-ml \(missing\.yaml:\d+/);
    // One run finding per kind, grouping them.
    expect(findings).toContainEqual(expect.stringMatching(/^2 sources could not run: ghost \(deployment\/no-such-predictor not found in namespace financial-ml .*\); typo \(namespace financial-mll not found .*did you mean financial-ml\?\)$/));
    expect(findings).toContainEqual(expect.stringMatching(/^1 target could not run: gone-listener \(namespace scratch not found/));
    expect(run.stdout).toContain('2 sources could not run');
    expect(readFileSync(junit, 'utf8')).toMatch(/<error\b/);
    await noPodsLeft();
  });

  it('deploy/rbac/role.yaml in financial-ml only (a real ServiceAccount token): financial-ml and runner cells run, the others name the missing verb, what is not visible is named with the command', async () => {
    const kubeconfig = await serviceAccountKubeconfig();
    await applyRoleIn('financial-ml');
    const json = join(dir, 'role-one.json');
    const markdown = join(dir, 'role-one.md');
    try {
      const run = await runBuiltCli(c, ['run', 'financial-ml', '--kubeconfig', kubeconfig, '--image', c.probeImage, '--budget', '120s', '--no-progress', '-o', `json=${json}`, '-o', `markdown=${markdown}`, '-o', 'table']);
      expect(run.stderr).not.toMatch(/internal error/);
      const { cells, findings } = report(json);
      // Every cell of the scenario is in the report (scenarios/financial-ml/scenario.yaml has 32).
      expect(cells.length).toBe(32);
      // The sources in other namespaces could not run, each naming the verb RBAC refused there.
      for (const [source, namespace] of [['training', 'financial-mlops-pytorch'], ['seldon', 'seldon-system'], ['outsider', 'default']] as const) {
        const own = cells.filter((cell) => cell.source === source);
        expect(own.length).toBeGreaterThan(0);
        for (const cell of own) {
          expect(cell.classification).toBe('probe');
          // The first refusal met: `get deployments` for an `as:` source, `create`/`list`/`watch pods` for the others.
          expect(cell.reason).toMatch(new RegExp(`cannot (\\w+) (\\w+) in ${namespace}: RBAC forbids \`\\1 \\2\` — grant deploy/rbac/role\\.yaml in ${namespace}`));
        }
      }
      // serving's cells ran, but two: the listener in `default` (its pod cannot be created there), and kube-dns's
      // named port `metrics` (kube-system's Services are not visible, so the port number is not known).
      const serving = cells.filter((cell) => cell.source === 'serving');
      for (const cell of serving.filter((x) => x.target !== 'default-listener' && x.target !== 'dns-metrics')) {
        expect(cell.classification, `${cell.source} → ${cell.target}: ${cell.reason}`).not.toBe('probe');
        expect(cell.probe).toMatch(/^financial-ml\//);
      }
      expect(serving.find((cell) => cell.target === 'default-listener')!.reason).toMatch(/listener pod default\/\S+ could not run: cannot (\w+) pods in default: RBAC forbids `\1 pods`/);
      expect(serving.find((cell) => cell.target === 'dns-metrics')!.reason).toMatch(
        /port "metrics" of service kube-system\/kube-dns cannot be resolved .*: not visible with these rights: services in kube-system \(forbidden: list services\) — ask the platform team to run `kubectl get services -n kube-system`/,
      );
      // The runner's cells ran on this machine.
      const runner = cells.filter((cell) => cell.source === 'ci-runner');
      expect(runner.length).toBe(3);
      for (const cell of runner) expect(cell.probe).toBe('runner');
      expect(runner.some((cell) => cell.classification === 'probe')).toBe(false);
      // What the Role could not see, with the command for the platform team, in the report and on screen.
      expect(findings).toContainEqual(expect.stringMatching(/^not visible with these rights: namespace labels .* — ask the platform team to run `kubectl get namespaces --show-labels`$/));
      expect(findings).toContainEqual(expect.stringMatching(/^not visible with these rights: nodes .* — ask the platform team to run `kubectl get nodes -o wide --show-labels`$/));
      expect(findings).toContainEqual(expect.stringMatching(/^not visible with these rights: networkpolicies in .*kube-system.* — ask the platform team to run `kubectl describe networkpolicy -A`$/));
      expect(findings).toContainEqual(expect.stringMatching(/^2 sources could not run: seldon \(cannot get deployments in seldon-system: RBAC forbids `get deployments`.*\); training \(cannot get deployments in financial-mlops-pytorch/));
      expect(findings).toContainEqual(expect.stringMatching(/^\d pods? could not run in default: RBAC forbids `\w+ pods`.* — grant deploy\/rbac\/role\.yaml in default/));
      // Every pod it made was deleted, though listing is refused in most namespaces.
      expect(run.stderr).not.toMatch(/could not delete the pods/);
      expect(run.stdout).toContain('not visible with these rights');
      expect(readFileSync(markdown, 'utf8')).toContain('kubectl get namespaces --show-labels');
      // A cell toward DNS rests on kube-system, which the Role cannot read: its policy column is `unknown`, not a guess.
      const dns = serving.find((cell) => cell.target === 'cluster-dns')!;
      expect(dns.policy).toBe('unknown');
      expect(dns.policyExplanation?.join('\n')).toMatch(/not visible with these rights: .*kube-system/);
      // Whatever else happened, a run with cells that could not run never exits 0; a mismatch (1) outranks it.
      const mismatch = cells.some((cell) => cell.classification === 'policy-gap' || cell.classification === 'unknown');
      expect(run.code).toBe(mismatch ? 1 : 3);
      await noPodsLeft();
    } finally {
      await deleteRoleIn('financial-ml');
    }
  });

  it('the same Role in every scenario namespace, no ClusterRole: the run works and says what it could not see; --per-node says it could not pin', async () => {
    const kubeconfig = await serviceAccountKubeconfig();
    for (const ns of SCENARIO_NAMESPACES) await applyRoleIn(ns);
    const json = join(dir, 'role-all.json');
    try {
      const run = await runBuiltCli(c, ['run', 'financial-ml', '--per-node', '--kubeconfig', kubeconfig, '--image', c.probeImage, '--budget', '150s', '--no-progress', '-o', `json=${json}`, '-o', 'table']);
      expect(run.stderr).not.toMatch(/internal error/);
      const { cells, findings } = report(json);
      // Every probe pod could be created: nothing failed for want of rights.
      expect(cells.filter((cell) => /RBAC forbids/.test(cell.reason))).toEqual([]);
      expect(cells.filter((cell) => cell.classification === 'probe')).toEqual([]);
      expect(findings).toContainEqual(expect.stringMatching(/^not visible with these rights: namespace labels .*`kubectl get namespaces --show-labels`$/));
      expect(findings).toContainEqual(expect.stringMatching(/^--per-node: nodes are not visible with these rights \(forbidden: list nodes\), so probe pods were NOT pinned to nodes/));
      // The healthy platform behaves as intended: every cell passes or is a documented known gap.
      expect(cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap').map((cell) => `${cell.source} → ${cell.target}: ${cell.reason}`)).toEqual([]);
      expect(run.code).toBe(0);
      await noPodsLeft();
    } finally {
      for (const ns of SCENARIO_NAMESPACES) await deleteRoleIn(ns);
    }
  });
});
