/**
 * The on-call commands on the REAL cluster (test/cluster-kit, financial-ml seeded, kube-router enforcing): an
 * ad-hoc `netcheck probe`, `--from`/`--to` narrowing a run, `--failures-only`, and `cleanup --run ID` after
 * `kill -9`. The BUILT CLI runs in the cluster's outside host. Asserted: cells, reasons, exit codes and pods —
 * never wall time.
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
import { built, MANIFESTS, netcheckPods, runBuiltCli, waitFor, type CliRun } from './built-cli.js';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e on-call: skipped — ${skip}`);



describe.skipIf(skip !== undefined)('on-call commands on the real cluster', { timeout: 240_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const runCli = (args: string[], options: { onSpawn?: (pid: number) => void; onStderr?: (stderr: string, pid: number) => void } = {}): Promise<CliRun> =>
    runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, ...(args[0] === 'cleanup' ? [] : ['--image', c.probeImage])], options);
  const cells = (file: string): CellVerdict[] => (JSON.parse(readFileSync(file, 'utf8')) as { cells: CellVerdict[] }).cells;

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-oncall-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('probe --from NAMESPACE --to SERVICE.NAMESPACE:PORT: the flow the policies admit passes, exit 0, one cell in JSON; the run id and its cleanup command come first on stderr', async () => {
    const json = join(dir, 'probe-allow.json');
    const run = await runCli(['probe', '--from', 'financial-ml', '--to', 'seldon-scheduler.seldon-system:9005', '--no-progress', '-o', `json=${json}`, '-o', 'table']);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const [cell, ...more] = cells(json);
    expect(more).toEqual([]);
    expect(cell).toMatchObject({ source: 'financial-ml', target: 'seldon-scheduler.seldon-system:9005', expect: 'allow', pass: true, policy: 'allow', outcome: { kind: 'connected' } });
    expect(run.stdout).toMatch(/^netcheck run probe · run [a-z0-9]+ · 1 cells: 1 passed, 0 failed\ncluster: context \S+ · https:\/\//);
    const started = /^netcheck run id ([a-z0-9]+) \(if it is killed, delete its pods with: netcheck cleanup --run \1 --kubeconfig (\S+)\)$/m.exec(run.stderr);
    expect(started?.[2]).toBe(c.kubeconfigPath);
    expect(await netcheckPods(client)).toEqual([]);
  });

  it('probe of a flow the policies deny: exit 1, a policy gap naming the policy that isolates the target', async () => {
    const json = join(dir, 'probe-deny.json');
    const run = await runCli(['probe', '--from', 'default', '--to', 'financial-ml/financial-predictor:8080', '--no-progress', '-o', `json=${json}`, '-o', 'table']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const [cell] = cells(json);
    expect(cell).toMatchObject({ source: 'default', expect: 'allow', pass: false, classification: 'policy-gap', policy: 'deny' });
    expect(cell?.reason).toMatch(/financial-ml\/financial-ml-(baseline|isolation)/);
    // Root cause first: the cause line, then the cell under it.
    expect(run.stdout).toMatch(/^CAUSE 1 \(1 cell\): policy gap: traffic from default to financial-ml — the scenario allows it, the\s+policies block it — platform team — next: kubectl describe networkpolicy -n financial-ml$/m);
    expect(run.stdout).toMatch(/✗ default → financial-ml\/financial-predictor:8080/);
    // The same flow stated as it should be: exit 0.
    const denied = await runCli(['probe', '--from', 'default', '--to', 'financial-ml/financial-predictor:8080', '--expect', 'deny', '--no-progress']);
    expect(denied.code, denied.stdout + denied.stderr).toBe(0);
  });

  it('probe from a workload (as:), a DNS lookup, and the runner to a LoadBalancer over HTTP', async () => {
    const fromWorkload = await runCli(['probe', '--from', 'financial-ml/financial-predictor', '--to', 'seldon-system/seldon-scheduler:9005', '--no-progress']);
    expect(fromWorkload.code, fromWorkload.stdout + fromWorkload.stderr).toBe(0);
    const dns = await runCli(['probe', '--from', 'financial-ml', '--to', 'dns:kube-dns.kube-system.svc.cluster.local', '--no-progress']);
    expect(dns.code, dns.stdout + dns.stderr).toBe(0);
    const json = join(dir, 'probe-runner.json');
    const lb = await runCli(['probe', '--from', 'runner', '--to', '192.168.1.208:5000', '--http', '/health', '--no-progress', '-o', `json=${json}`]);
    expect(lb.code, lb.stdout + lb.stderr).toBe(0);
    expect(cells(json)[0]).toMatchObject({ probe: 'runner', pass: true, outcome: { kind: 'http' } });
  });

  it('probe with a malformed target: exit 2 with an example, before any pod', async () => {
    const run = await runCli(['probe', '--from', 'financial-ml', '--to', 'seldon-scheduler.seldon-system', '--no-progress']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^netcheck: --to seldon-scheduler\.seldon-system: needs a port: TARGET:PORT .*\n  hint: e\.g\. --to /);
  });

  it('--from/--to narrow financial-ml to the cells asked for (one probe pod); --failures-only shows only what fails while JSON stays complete', async () => {
    const json = join(dir, 'narrow.json');
    const run = await runCli(['financial-ml', '--from', 'serving', '--to', 'seldon-scheduler,cluster-dns', '--to', 'training-api', '--no-progress', '-o', `json=${json}`, '-o', 'table']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const narrowed = cells(json);
    expect(narrowed.map((x) => `${x.source}>${x.target}`).sort()).toEqual(['serving>cluster-dns', 'serving>seldon-scheduler', 'serving>training-api']);
    expect(new Set(narrowed.map((x) => x.probe)).size).toBe(1);
    expect(narrowed.every((x) => x.pass)).toBe(true);

    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(wrong, JSON.stringify({
      apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name: 'wrong' }, defaults: { timeout: '1s', retries: 0 },
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' } },
      targets: { 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' }, scheduler: { service: 'seldon-scheduler', namespace: 'seldon-system', port: 9005 }, 'training-api': { service: 'training-controller', namespace: 'financial-mlops-pytorch', port: 8080 } },
      // training-api is denied by the policies: stating allow makes it the one failing cell.
      matrix: { serving: { allow: ['cluster-dns', 'scheduler', 'training-api'] } },
    }));
    const fjson = join(dir, 'failures-only.json');
    const failing = await runCli(['run', wrong, '--failures-only', '--no-progress', '-o', 'table', '-o', `json=${fjson}`]);
    expect(failing.code, failing.stdout + failing.stderr).toBe(1);
    expect(failing.stdout).toContain('--failures-only: 1 failing cell of 3 shown');
    expect(failing.stdout).toMatch(/\nserving +AD✗\n/);
    expect(failing.stdout).toContain('targets: 1 training-api');
    expect(failing.stdout.replace(/\s+/g, ' ')).toContain('CAUSE 1 (1 cell): policy gap: traffic from financial-ml to financial-mlops-pytorch');
    expect(failing.stdout).toMatch(/✗ serving → training-api/);
    expect(failing.stdout).not.toMatch(/cluster-dns|scheduler/);
    expect(cells(fjson)).toHaveLength(3);
  });

  it('kill -9 two runs once their pods exist: `cleanup --run ID` deletes exactly that run\'s pods at once, the other run\'s stay', async () => {
    const scenario = join(dir, 'kill.yaml');
    writeFileSync(scenario, JSON.stringify({
      apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name: 'kill' }, defaults: { timeout: '1s', retries: 0 },
      sources: { serving: { namespace: 'financial-ml', as: 'deployment/financial-predictor' }, training: { namespace: 'financial-mlops-pytorch', as: 'deployment/training-controller' } },
      targets: { 'cluster-dns': { dns: 'kube-dns.kube-system.svc.cluster.local' } },
      matrix: { serving: { allow: ['cluster-dns'] }, training: { allow: ['cluster-dns'] } },
    }));
    const start = () => {
      let runId: string | undefined;
      let pid: number | undefined;
      const done = runCli(['run', scenario, '--budget', '120s', '--no-progress'], {
        onStderr: (stderr, p) => {
          pid = p;
          runId ??= /^netcheck run id ([a-z0-9]+) /m.exec(stderr)?.[1];
        },
      });
      return { done, id: () => runId, pid: () => pid };
    };
    const a = start();
    const b = start();
    const podsOf = async (runId: string | undefined) => (runId === undefined ? [] : (await netcheckPods(client)).filter((p) => p.labels['netcheck.io/run'] === runId));
    await waitFor('both runs have their two probe pods', async () => ((await podsOf(a.id())).length === 2 && (await podsOf(b.id())).length === 2 ? true : undefined), 600, 50);
    process.kill(a.pid() as number, 'SIGKILL');
    process.kill(b.pid() as number, 'SIGKILL');
    expect((await a.done).signal).toBe('SIGKILL');
    expect((await b.done).signal).toBe('SIGKILL');
    const [idA, idB] = [a.id() as string, b.id() as string];
    const podsB = (await podsOf(idB)).map((p) => `${p.namespace}/${p.name}`).sort();
    const podsA = (await podsOf(idA)).map((p) => `${p.namespace}/${p.name}`).sort();
    expect(podsA).toHaveLength(2);

    // Long before their deadline (120 s + grace): the expiry sweep leaves them, --run removes them now.
    const cleanup = await runCli(['cleanup', '--run', idA]);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stdout).toBe(`${podsA.map((p) => `deleted pod ${p}\n`).join('')}2 pods of run ${idA} deleted across all namespaces\n`);
    await waitFor(`kubectl shows no pod of run ${idA}`, async () => ((await kubectl('get', 'pods', '-A', '-l', `netcheck.io/run=${idA}`, '-o', 'name')).trim() === '' ? true : undefined), 60);
    expect((await podsOf(idB)).map((p) => `${p.namespace}/${p.name}`).sort()).toEqual(podsB);

    const again = await runCli(['cleanup', '--run', idA]);
    expect(again.stdout).toBe(`no pods of run ${idA} across all namespaces (already deleted, or another cluster or context?)\n`);
    const rest = await runCli(['cleanup', '--run', idB]);
    expect(rest.stdout).toContain(`2 pods of run ${idB} deleted across all namespaces`);
    await waitFor('no netcheck pod left', async () => ((await netcheckPods(client)).length === 0 ? true : undefined), 60);
  });
});
