/**
 * netcheck's Calico evaluation (src/policy/calico-policy.ts) against felix itself, on the real Calico cluster
 * (test/cluster-kit, `cni: 'calico'`: felix release-v3.28, iptables data plane, denied packets DROPPED). The fixture
 * (test/fixtures/calico-conformance) holds Calico's own policies as the Kubernetes datastore stores them
 * (crd.projectcalico.org/v1, applied with the workloads: the cluster runs no Calico API server) and one Kubernetes
 * NetworkPolicy: ordered Allow / Deny / Pass / Log, GlobalNetworkPolicy vs namespaced NetworkPolicy, a Kubernetes
 * NetworkPolicy at order 1000 between Calico orders 100 and 2000, the end-of-tier drop, selector edge cases (has, !has,
 * in, !=), namespaceSelector (namespace labels, projectcalico.org/name, kubernetes.io/metadata.name) vs the
 * projectcalico.org/namespace pod label, serviceAccountSelector, notNets, port ranges, notProtocol and an ICMP rule
 * (which must not admit TCP: netcheck probes TCP and UDP, not ICMP itself).
 *
 * The expected matrix is the engine's, computed offline by the built CLI (`netcheck analyze -o json` on the fixture
 * plus the live pods, for the addresses notNets decides on); `netcheck run` probes every (workload × Service port)
 * cell, and its own policy column (the engine on the live inventory, which reads the crd.projectcalico.org/v1
 * objects) must agree too. First run 2026-12-08: all 35 cells agreed with felix, every denied cell timed out.
 * Felix deviations: none, so none are listed; a felix that starts to deviate fails the run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CellVerdict } from '../../src/model/verdict.js';
import { calicoUnavailable } from '../cluster-kit/build.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { built, runBuiltCli } from './built-cli.js';
import { analyzeOffline, conformanceScenario, describeCell, disagreements, expectedCells, livePods, readFixture } from './conformance-kit.js';

const FIXTURE = 'test/fixtures/calico-conformance';
const ENFORCER = 'Calico felix (release-v3.28)';

const skip = !built ? 'dist is not built' : (clusterSkipReason() ?? calicoUnavailable());
if (skip !== undefined) console.warn(`e2e Calico policy conformance: skipped — ${skip}`);

/** Cells that pin each modelled rule, with the Calico rule the engine must name (the fixture's header explains them). */
const SIGNATURE_CELLS: ReadonlyArray<[source: string, target: string, verdict: 'allow' | 'deny', explanation: RegExp]> = [
  ['tool', 'db-pg', 'allow', /ingress: allowed, Calico NetworkPolicy back\/c-db \(order 10\) ingress\[2\]: Pass/],
  ['shop', 'db-pg', 'allow', /ingress: allowed by Calico NetworkPolicy back\/c-db \(order 10\) ingress\[0\]: Allow/],
  ['web', 'db-pg', 'deny', /egress: denied by Calico GlobalNetworkPolicy c-web-egress \(order 30\) egress\[3\]: Deny/],
  ['web', 'vault-http', 'deny', /ingress: denied by Calico GlobalNetworkPolicy c-vault \(order 20\) ingress\[0\]: Deny/],
  ['shop', 'vault-http', 'allow', /ingress: allowed by Calico GlobalNetworkPolicy c-baseline \(order 2000\) ingress\[0\]: Allow/],
  ['tool', 'vault-http', 'deny', /ingress: denied by Calico GlobalNetworkPolicy c-deny-tool \(order 100\) ingress\[0\]: Deny/],
  ['tool', 'shop-http', 'deny', /ingress: denied at the end of Calico's default tier/],
  ['web', 'shop-http', 'allow', /ingress: allowed by front\/shop-from-web ingress\[0\]/],
  ['shop', 'shop-http', 'allow', /ingress: allowed by Calico GlobalNetworkPolicy c-baseline \(order 2000\) ingress\[0\]: Allow/],
  ['shop', 'shop-admin', 'deny', /ingress: denied at the end of Calico's default tier/],
  ['web', 'web-http', 'allow', /egress: allowed by Calico GlobalNetworkPolicy c-web-egress \(order 30\) egress\[2\]: Allow/],
];

describe.skipIf(skip !== undefined)(`Calico policy conformance: netcheck's engine vs ${ENFORCER} on the real cluster`, () => {
  const cluster = useCluster({ manifests: [FIXTURE], cni: 'calico' });
  let c: RunningCluster;
  let dir: string;

  beforeAll(() => {
    c = cluster();
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-calico-conformance-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every (workload × Service port) cell: felix does what the engine computed offline, and the run explains it by the Calico rule', async () => {
    const { workloads, targets } = readFixture(FIXTURE);
    const { podsFile, podOf } = await livePods(c.kubeconfigPath, workloads, dir);
    const expected = expectedCells(await analyzeOffline([FIXTURE, podsFile]), workloads, targets, podOf);
    expect(expected.length).toBe(35);
    for (const verdict of ['allow', 'deny'] as const) {
      for (const protocol of ['TCP', 'UDP'] as const) expect(expected.filter((e) => e.engine === verdict && e.target.protocol === protocol).length, `${verdict} ${protocol}`).toBeGreaterThan(0);
    }
    // No cell is left to "unknown": every one is decided by a modelled rule.
    expect(expected.filter((e) => (e.cell.mayBeDecidedBy ?? []).length > 0).map((e) => `${e.source.name} → ${e.target.name}`)).toEqual([]);

    const scenarioFile = join(dir, 'scenario.json');
    writeFileSync(scenarioFile, JSON.stringify(conformanceScenario('calico-policy-conformance', workloads, targets, expected, []), null, 2));
    const report = join(dir, 'report.json');
    const run = await runBuiltCli(c, ['run', scenarioFile, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage, '--budget', '180s', '--settle', '3s', '--no-progress', '-o', `json=${report}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    const { cells } = JSON.parse(readFileSync(report, 'utf8')) as { cells: CellVerdict[] };
    expect(cells.length).toBe(expected.length);

    const disagreeing = disagreements(expected, cells, [], ['timeout'], ENFORCER);
    expect(disagreeing, disagreeing.join('\n')).toEqual([]);
    expect(cells.filter((cell) => !cell.pass).map(describeCell)).toEqual([]);
    expect(run.code).toBe(0);

    for (const [source, target, verdict, explanation] of SIGNATURE_CELLS) {
      const cell = cells.find((x) => x.source === source && x.target === target);
      expect(`${source} → ${target}: ${cell?.policy}`).toBe(`${source} → ${target}: ${verdict}`);
      expect((cell?.policyExplanation ?? []).join('\n'), `${source} → ${target}`).toMatch(explanation);
    }
  }, 600_000);
});
