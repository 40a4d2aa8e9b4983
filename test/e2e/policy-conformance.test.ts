/**
 * netcheck's policy engine (src/policy) against REAL enforcers on the real cluster (test/cluster-kit): kube-router
 * v2.1.0's NetworkPolicy controller (denied packets REJECTED), and Calico's felix (release-v3.28, iptables data
 * plane; denied packets DROPPED). The fixture (test/fixtures/conformance) exercises what kube-router
 * implements: namespace and pod selectors (matchLabels, In, NotIn, Exists, DoesNotExist), a namespaceSelector
 * alone, namespaceSelector + podSelector in one peer (AND) vs separate peers (OR), empty podSelectors,
 * ingress-only / egress-only / both policyTypes (and the API's defaulting), default deny, ports by number, by
 * name (one name, different numbers per pod) and ranges (endPort), TCP and UDP, egress ipBlock with except,
 * and DNS egress for every source whose egress is restricted. SCTP is left out: kube-router v2.1.0 does not list
 * it, and netcheck's agent does not probe it. Ingress ipBlock too: the run judges a probe pod without its IP.
 *
 * The expected matrix is the ENGINE's, computed offline by the built CLI (`netcheck analyze -o json`) before
 * anything is probed; the scenario's `matrix` is that verdict for every (workload × Service port) cell, and
 * `netcheck run` probes each cell from a pod cloning the source workload's labels. A clean run means the data
 * plane agrees with the engine on every cell. The cells where kube-router v2.1.0 is known to depart from the
 * NetworkPolicy spec are listed in KUBE_ROUTER_DEVIATIONS with the reason, Calico's in CALICO_DEVIATIONS; they
 * must deviate exactly so. Asserted: cell verdicts and exit codes, never wall time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/model/outcome.js';
import type { CellVerdict } from '../../src/model/verdict.js';
import { calicoUnavailable } from '../cluster-kit/build.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import type { CniName } from '../cluster-kit/cni.js';
import { built, runBuiltCli } from './built-cli.js';
import { analyzeOffline, conformanceScenario, describeCell, disagreements, expectedCells, findCell, livePods, readFixture, type Deviation } from './conformance-kit.js';

const FIXTURE = 'test/fixtures/conformance';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e policy conformance: skipped — ${skip}`);

/**
 * Cells where kube-router v2.1.0 does not do what networking.k8s.io/v1 says (read in its
 * pkg/controllers/netpol/{policy,pod}.go, and seen in its iptables rules and ipsets on the nodes). The engine
 * follows the spec; each cell must deviate exactly so, and a kube-router that stops deviating fails the run
 * ("known gap no longer reproduces").
 */
const KUBE_ROUTER_DEVIATIONS: readonly Deviation[] = [
  {
    source: 'toolbox',
    target: 'toolbox-ssh',
    engine: 'deny',
    observed: 'allow',
    reason:
      'a policy with policyTypes [Ingress, Egress] is jumped to from its pods\' firewall chain without -d/-s, so its egress rule ' +
      '(`egress: [{}]`: source in the policy\'s pod set, any destination) also marks traffic INTO toolbox from any pod the policy ' +
      'selects — here a probe with app=toolbox — although ingress admits app=monitor only',
  },
  {
    source: 'collector',
    target: 'monitor-http',
    engine: 'allow',
    observed: 'deny',
    reason:
      'an egress rule without `to` resolves the named port `http` against the pods of the policy\'s own namespace ' +
      '(analytics: 8080), not against each destination pod (monitor\'s `http` is 3000), so 3000 is rejected',
  },
  {
    source: 'collector',
    target: 'reporter-ui',
    engine: 'deny',
    observed: 'allow',
    reason:
      'the same rule becomes "TCP 8080 to any destination", so reporter\'s 8080 (named `ui`, it declares no `http`) is admitted',
  },
];

/**
 * Cells where felix (release-v3.28, iptables data plane) does not do what networking.k8s.io/v1 says: none of the
 * 120 (first run 2026-12-07 on Kubernetes v1.35.4: every cell agreed with the engine, every denied cell timed
 * out). Calico converts each NetworkPolicy into its own model (libcalico-go/lib/backend/k8s/conversion:
 * knp.default.<name>) and felix renders it per workload endpoint; where kube-router departs, felix does not:
 * a policy with both policyTypes applies its egress rules to egress only (toolbox → toolbox-ssh denied), and a
 * named port in a rule without peers is matched per destination pod through felix's named-port ipsets
 * (collector → monitor-http on 3000 allowed, collector → reporter-ui denied). Where the spec leaves the choice to
 * the implementation, felix agrees with the engine: ipBlock matches pod IPs (payments → web-http), and traffic
 * from a pod's own node is admitted (kubelet probes; "traffic to and from the node where a Pod is running is always
 * allowed", says the NetworkPolicy concept page). Denied packets are dropped
 * (IptablesFilterDenyAction, default DROP), not rejected. A felix that starts to deviate fails the run.
 */
const CALICO_DEVIATIONS: readonly Deviation[] = [];

interface Enforcer {
  cni: CniName;
  /** As the report's `known` reasons and the test titles name it. */
  name: string;
  deviations: readonly Deviation[];
  /** The outcomes a denied flow may have: REJECT gives `refused` (TCP RST or ICMP port unreachable), DROP a timeout. */
  denied: ReadonlyArray<Outcome['kind']>;
  skip: string | undefined;
}

const ENFORCERS: readonly Enforcer[] = [
  { cni: 'kube-router', name: 'kube-router v2.1.0', deviations: KUBE_ROUTER_DEVIATIONS, denied: ['refused', 'timeout', 'unreachable'], skip },
  // felix drops: a denied TCP connect or UDP query is answered by nothing, so the agent reports a timeout.
  { cni: 'calico', name: 'Calico felix (release-v3.28)', deviations: CALICO_DEVIATIONS, denied: ['timeout'], skip: skip ?? calicoUnavailable() },
];
for (const e of ENFORCERS) if (e.skip !== undefined && skip === undefined) console.warn(`e2e policy conformance on ${e.name}: skipped — ${e.skip}`);

describe.each(ENFORCERS)('policy conformance: netcheck\'s engine vs $name on the real cluster', (enforcer) => {
  if (enforcer.skip !== undefined) {
    it.skip(`skipped: ${enforcer.skip}`, () => undefined);
    return;
  }
  const cluster = useCluster({ manifests: [FIXTURE], cni: enforcer.cni });
  let c: RunningCluster;
  let dir: string;

  beforeAll(() => {
    c = cluster();
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-conformance-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`every (workload × Service port) cell: ${enforcer.name} does what the engine computed offline`, async () => {
    const { workloads, targets } = readFixture(FIXTURE);
    // The workloads' live pods, with the IPs the ipBlock rules are judged on (still offline: files in, verdicts out).
    const { podsFile, podOf } = await livePods(c.kubeconfigPath, workloads, dir);
    const [offline, withIPs] = await Promise.all([analyzeOffline([FIXTURE]), analyzeOffline([FIXTURE, podsFile])]);
    const expected = expectedCells(withIPs, workloads, targets, podOf);

    // The manifests alone decide every cell the same, except where an ipBlock rule needs the destination's IP.
    const ipBlockPolicies = new Set(['billing/payments', 'analytics/reporter-egress']);
    const ipDependent = expected.filter((e) => {
      const template = findCell(offline, `${e.source.namespace}/${e.source.name}`, `${e.target.workload.namespace}/${e.target.workload.name}`, e.target);
      return template.allowed !== e.cell.allowed;
    });
    for (const e of ipDependent) expect(e.cell.egress?.isolatedBy.some((p) => ipBlockPolicies.has(p))).toBe(true);
    expect(ipDependent.map((e) => `${e.source.name} → ${e.target.name} ${e.engine}`).sort()).toEqual(['payments → web-http allow', 'reporter → monitor-syslog allow']);

    // Enough of everything for the run to mean something.
    expect(expected.length).toBeGreaterThanOrEqual(60);
    for (const verdict of ['allow', 'deny'] as const) {
      for (const protocol of ['TCP', 'UDP'] as const) expect(expected.filter((e) => e.engine === verdict && e.target.protocol === protocol).length, `${verdict} ${protocol}`).toBeGreaterThan(0);
    }

    for (const d of enforcer.deviations) expect(expected.find((e) => e.source.name === d.source && e.target.name === d.target)?.engine, `${d.source} → ${d.target}`).toBe(d.engine);
    const scenario = conformanceScenario('policy-conformance', workloads, targets, expected, enforcer.deviations.map((d) => ({ from: d.source, to: d.target, reason: `${enforcer.name}: ${d.reason}` })));
    const scenarioFile = join(dir, 'scenario.json');
    writeFileSync(scenarioFile, JSON.stringify(scenario, null, 2));

    const report = join(dir, 'report.json');
    const run = await runBuiltCli(c, ['run', scenarioFile, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage, '--budget', '180s', '--settle', '3s', '--no-progress', '-o', `json=${report}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    const { cells } = JSON.parse(readFileSync(report, 'utf8')) as { cells: CellVerdict[] };
    expect(cells.length).toBe(expected.length);

    // Per cell: the engine inside the run agrees with the offline analysis, and the packets with the engine.
    const disagreeing = disagreements(expected, cells, enforcer.deviations, enforcer.denied, enforcer.name);
    expect(disagreeing, disagreeing.join('\n')).toEqual([]);
    const failing = cells.filter((cell) => !cell.pass && cell.classification !== 'known-gap');
    expect(failing.map(describeCell)).toEqual([]);
    expect(cells.filter((cell) => cell.classification === 'known-gap').map((cell) => `${cell.source} → ${cell.target}`).sort()).toEqual(enforcer.deviations.map((d) => `${d.source} → ${d.target}`).sort());
    expect(run.code).toBe(0);
    // Every probe ran on a real node of the cluster.
    for (const cell of cells) expect(c.nodes.map((n) => n.name)).toContain(cell.node);
  }, 600_000);
});
