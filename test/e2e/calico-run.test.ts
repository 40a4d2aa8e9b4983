/**
 * netcheck on a real Calico cluster (test/cluster-kit with `cni: 'calico'`: felix in the iptables data plane on
 * every node, VXLAN between them) seeded with the financial-ml platform: the platform after its migration. The
 * BUILT CLI runs inside the outside host. Felix enforces the policies by DROPPING what they deny, so every cell
 * the scenario denies is blocked by a timeout (never `refused`), the run passes apart from the scenario's known
 * gaps (exit 0), and no finding says the CNI does not enforce.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { calicoUnavailable } from '../cluster-kit/build.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

const skip = !built ? 'dist is not built' : (clusterSkipReason() ?? calicoUnavailable());
if (skip !== undefined) console.warn(`e2e Calico cluster: skipped — ${skip}`);

interface Report {
  cells: CellVerdict[];
  findings: string[];
}

describe.skipIf(skip !== undefined)('netcheck on a real Calico cluster', { timeout: 300_000 }, () => {
  const cluster = useCluster({ cni: 'calico', manifests: [MANIFESTS] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;
  const runCli = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage]);

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-calico-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('run financial-ml: exit 0 but for the known gaps; every denied cell is blocked by a timeout (felix drops), none refused', async () => {
    const json = join(dir, 'run.json');
    const run = await runCli(['run', 'financial-ml', '--budget', '90s', '--no-progress', '-o', `json=${json}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    const { cells, findings } = JSON.parse(readFileSync(json, 'utf8')) as Report;
    const failing = cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap');
    expect(failing.map((cell) => `${cell.source} → ${cell.target}: ${cell.classification} (${cell.outcome.kind}) ${cell.reason}`)).toEqual([]);
    expect(run.code).toBe(0);
    const denied = cells.filter((cell) => cell.expect === 'deny' && cell.policy === 'deny' && !cell.known);
    expect(denied.length).toBeGreaterThan(0);
    for (const cell of denied) {
      expect(`${cell.source} → ${cell.target}: ${cell.attempts.map((a) => a.outcome.kind).join(',')}`).toMatch(/: timeout(,timeout)*$/);
    }
    // The known gaps are policy gaps: the policies deny what the intent allows, and felix agrees with the policies.
    for (const cell of cells.filter((x) => x.classification === 'known-gap')) expect(`${cell.source} → ${cell.target} ${cell.policy} ${cell.outcome.kind}`).toMatch(/ deny timeout$/);
    expect(findings.join('\n')).not.toMatch(/does not enforce/);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });
});
