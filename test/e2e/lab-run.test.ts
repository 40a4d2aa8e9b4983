/**
 * `netcheck run` end to end: the BUILT CLI (npm run build first) runs as a subprocess inside the lab's
 * outside host, against the lab's API server and real network namespaces.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { startLab, type RunningLab } from '../lab/lab.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

/** `netcheck run financial-ml` against the lab with a 45s budget, then `args`. */
function runCli(lab: RunningLab, args: string[], onStderr?: (stderr: string, pid: number) => void): Promise<CliRun> {
  return runBuiltCli(lab, ['run', 'financial-ml', '--kubeconfig', lab.kubeconfigPath, '--budget', '45s', ...args], { onStderr });
}

async function kubectl(lab: RunningLab, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', lab.kubeconfigPath, ...args], { stdio: 'ignore' });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')} exited ${code}`))));
  });
}

describe.skipIf(!built)('netcheck run financial-ml in the lab', () => {
  let lab: RunningLab;
  let client: ClusterClient;
  let dir: string;
  const cellsOf = (file: string): CellVerdict[] => (JSON.parse(readFileSync(file, 'utf8')) as { cells: CellVerdict[] }).cells;

  beforeAll(async () => {
    lab = await startLab({ manifests: [MANIFESTS] });
    client = await connectCluster({ kubeconfig: lab.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-'));
  });
  afterAll(async () => {
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('healthy platform: exit 0, every cell passes or is a documented known gap, runner LB checks pass, no pod left', async () => {
    const json = join(dir, 'healthy.json');
    const junit = join(dir, 'healthy.xml');
    const run = await runCli(lab, ['-o', `json=${json}`, '-o', `junit=${junit}`, '-o', 'table']);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    const cells = cellsOf(json);
    expect(cells.filter((c) => !c.pass && c.classification !== 'known-gap')).toEqual([]);
    const runnerLb = cells.filter((c) => c.source === 'ci-runner' && !c.known);
    expect(runnerLb.length).toBeGreaterThan(0);
    expect(runnerLb.every((c) => c.pass && c.probe === 'runner')).toBe(true);
    expect(readFileSync(junit, 'utf8')).toContain('<testsuites');
    expect(run.stdout).toContain('PASS');
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it('CNI ignores policies: the deny cells fail as data-plane faults, exit 1', async () => {
    await lab.setFaults({ cniIgnoresPolicies: true });
    try {
      const json = join(dir, 'flannel.json');
      const run = await runCli(lab, ['-o', `json=${json}`]);
      expect(run.code).toBe(1);
      const denied = cellsOf(json).filter((c) => c.expect === 'deny' && c.policy === 'deny');
      expect(denied.length).toBeGreaterThan(0);
      for (const c of denied) expect(c.classification).toBe('data-plane');
      expect(JSON.parse(readFileSync(json, 'utf8')).findings.join('\n')).toMatch(/does not enforce NetworkPolicies/);
      expect(await netcheckPodsLeft(client)).toEqual([]);
    } finally {
      await lab.setFaults({ cniIgnoresPolicies: false });
    }
  });

  it('DNS dropped: name-dependent cells are DNS faults, never "blocked"', async () => {
    await lab.setFaults({ dnsDropped: true });
    try {
      const json = join(dir, 'dns.json');
      const run = await runCli(lab, ['-o', `json=${json}`, '--timeout', '1s', '--retries', '0']);
      expect(run.code).toBe(1);
      const cells = cellsOf(json);
      // Every in-cluster cell that needs a name (dns targets and services, resolved as apps do) must be a DNS
      // fault, never "blocked"; address targets (listener pod IP, LoadBalancers) keep working.
      const byName = new Set(['cluster-dns', 'cluster-dns-tcp', 'scheduler-name', 'mlflow-name', 'seldon-scheduler', 'predictor', 'training-api', 'dns-metrics']);
      const dnsDependent = cells.filter((c) => byName.has(c.target) && c.expect === 'allow' && !c.known);
      expect(dnsDependent.length).toBeGreaterThanOrEqual(10);
      for (const c of dnsDependent) {
        expect(c.outcome.kind).toMatch(/^dns-/);
        expect(c.classification).toBe('dns');
      }
      const byAddress = cells.filter((c) => !byName.has(c.target) && !c.known);
      expect(byAddress.length).toBeGreaterThan(0);
      for (const c of byAddress) expect(c.pass).toBe(true);
    } finally {
      await lab.setFaults({ dnsDropped: false });
    }
  });

  it('kube-system loses its `name` label: a policy gap whose reason names the label', async () => {
    await kubectl(lab, ['label', 'namespace', 'kube-system', 'name-']);
    try {
      const json = join(dir, 'label.json');
      const run = await runCli(lab, ['-o', `json=${json}`, '--timeout', '1s', '--retries', '0']);
      expect(run.code).toBe(1);
      const gaps = cellsOf(json).filter((c) => c.classification === 'policy-gap' && c.target.startsWith('cluster-dns'));
      expect(gaps.length).toBeGreaterThan(0);
      for (const c of gaps) expect(c.reason).toMatch(/kube-system has no label `?name`?/);
      expect(gaps.some((c) => (c.findings ?? []).some((f) => f.includes('kubectl label namespace kube-system name=kube-system')))).toBe(true);
    } finally {
      await kubectl(lab, ['label', 'namespace', 'kube-system', 'name=kube-system']);
    }
  });

  it('403 on pods/log: exit 3 naming the verb and resource', async () => {
    await lab.setFaults({ forbid: [{ verb: 'get', resource: 'pods/log' }] });
    try {
      const run = await runCli(lab, []);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/get/);
      expect(run.stderr).toMatch(/pods\/log/);
      await lab.setFaults({ forbid: [] });
      expect(await netcheckPodsLeft(client)).toEqual([]);
    } finally {
      await lab.setFaults({ forbid: [] });
    }
  });

  it('image pull failure: exit 3 with the pod failure reason', async () => {
    await lab.setFaults({ imagePullFailure: ['netcheck-test/broken:1'] });
    try {
      const run = await runCli(lab, ['--image', 'netcheck-test/broken:1']);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/ErrImagePull|ImagePullBackOff|ImagePull/);
      expect(await netcheckPodsLeft(client)).toEqual([]);
    } finally {
      await lab.setFaults({ imagePullFailure: [] });
    }
  });

  it('SIGINT mid-run: pods deleted, exit 130', async () => {
    await lab.setFaults({ slowPodStartMs: 5_000 });
    try {
      let sent = false;
      const run = await runCli(lab, [], (stderr, pid) => {
        if (!sent && /created|running|pending/.test(stderr)) {
          sent = true;
          setTimeout(() => process.kill(pid, 'SIGINT'), 500);
        }
      });
      expect(sent).toBe(true);
      expect(run.code).toBe(130);
      expect(await netcheckPodsLeft(client)).toEqual([]);
    } finally {
      await lab.setFaults({ slowPodStartMs: 0 });
    }
  });
});
