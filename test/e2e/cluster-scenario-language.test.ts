/**
 * The scenario language of issue 9 on the REAL cluster (kube-proxy, kube-router REJECTing denied flows, CoreDNS,
 * the kit's LoadBalancer controller), through the BUILT CLI from the outside host:
 * - `connected`, `refused`, `blocked` and `nxdomain` expectations judged on real outcomes;
 * - a listener with a named port (`port: {name: http, number: 8080}`) tested by a policy that admits `port: http`;
 * - `via: clusterIP` (no DNS), and a headless Service named as its error;
 * - a LoadBalancer address whose Service has no endpoints (issue 9 item 9), and a deny check against it (item 4);
 * - the ClusterIP retry when a namespace's DNS egress is blocked but the service port is open.
 * Asserted: classifications, reasons, the policy column and exit codes from the JSON report.
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
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, type CliRun } from './built-cli.js';

const skip = !built ? 'dist is not built' : clusterSkipReason();
if (skip !== undefined) console.warn(`e2e scenario language: skipped — ${skip}`);

/** Addresses in the kit's LoadBalancer range that no seeded Service uses. */
const GONE_LB_IP = '192.168.1.230';
const WEB_LB_IP = '192.168.1.231';
/** The kit's node network: kube-proxy masquerades the runner's traffic to a LoadBalancer to a node's address. */
const NODE_NETWORK = '172.30.0.0/16';

/** The namespaces, workloads-to-be and policies this file adds to the seeded platform (removed afterwards). */
const OBJECTS = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'h3-a', labels: { name: 'h3-a' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'h3-b', labels: { name: 'h3-b' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'h3-nodns', labels: { name: 'h3-nodns' } } },
  // Backed by netcheck's own listener (labels app=h3-web) while a run lasts; targetPort by the listener's port name.
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'h3-web', namespace: 'h3-b' },
    spec: { selector: { app: 'h3-web' }, ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'h3-headless', namespace: 'h3-b' },
    spec: { clusterIP: 'None', selector: { app: 'h3-web' }, ports: [{ port: 8080, protocol: 'TCP' }] },
  },
  // A LoadBalancer whose pods are gone: its selector matches nothing, so kube-proxy rejects what reaches it.
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'h3-gone', namespace: 'h3-b' },
    spec: {
      type: 'LoadBalancer',
      loadBalancerIP: GONE_LB_IP,
      selector: { app: 'h3-nothing' },
      ports: [
        { name: 'a', port: 8080, targetPort: 8080, protocol: 'TCP' },
        { name: 'b', port: 8081, targetPort: 8081, protocol: 'TCP' },
      ],
    },
  },
  // The listener behind a LoadBalancer, for the runner; its ingress from outside is decided by an ipBlock.
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'h3-web-lb', namespace: 'h3-b' },
    spec: { type: 'LoadBalancer', loadBalancerIP: WEB_LB_IP, selector: { app: 'h3-web' }, ports: [{ port: 8080, targetPort: 8080, protocol: 'TCP' }] },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-from-nodes', namespace: 'h3-b' },
    spec: { podSelector: { matchLabels: { app: 'h3-web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: NODE_NETWORK } }] }] },
  },
  // The listener admits only its named port `http`, from h3-a and h3-nodns.
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-http-only', namespace: 'h3-b' },
    spec: {
      podSelector: { matchLabels: { app: 'h3-web' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { name: 'h3-a' } } }, { namespaceSelector: { matchLabels: { name: 'h3-nodns' } } }],
          ports: [{ protocol: 'TCP', port: 'http' }],
        },
      ],
    },
  },
  // h3-nodns may reach h3-b on 8080, and nothing else: no DNS.
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'no-dns', namespace: 'h3-nodns' },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { name: 'h3-b' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
    },
  },
];

const TARGETS = {
  web: { namespace: 'h3-b', labels: { app: 'h3-web' }, port: { name: 'http', number: 8080 } },
  'web-other': { namespace: 'h3-b', labels: { app: 'h3-web' }, port: 8081 },
  'web-svc': { service: 'h3-web', namespace: 'h3-b', port: 8080 },
  'web-cip': { service: 'h3-web', namespace: 'h3-b', port: 8080, via: 'clusterIP' },
  headless: { service: 'h3-headless', namespace: 'h3-b', port: 8080, via: 'clusterIP' },
  'nosuch-name': { dns: 'nosuch.h3-b.svc.cluster.local' },
  blackhole: { address: '203.0.113.10', port: 80 },
  'gone-lb': { address: GONE_LB_IP, port: 8080 },
  'gone-lb-b': { address: GONE_LB_IP, port: 8081 },
  'web-lb': { address: WEB_LB_IP, port: 8080 },
};

const SOURCES = {
  a: { namespace: 'h3-a', labels: { app: 'h3-client' } },
  nodns: { namespace: 'h3-nodns', labels: { app: 'h3-client' } },
  ci: { runner: true },
};

interface Report {
  cells: CellVerdict[];
}

describe.skipIf(skip !== undefined)('the scenario language on the real cluster', { timeout: 300_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;

  const kubectl = async (args: string[], input?: string): Promise<string> =>
    (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args], input !== undefined ? { input } : {})).stdout;
  const runCli = (args: string[]): Promise<CliRun> => runBuiltCli(c, [...args, '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage]);
  const writeScenario = (name: string, matrix: Record<string, Record<string, string[]>>): string => {
    const file = join(dir, `${name}.yaml`);
    const scenario = { apiVersion: 'netcheck.io/v1alpha1', kind: 'Scenario', metadata: { name }, defaults: { timeout: '1s', retries: 2 }, sources: SOURCES, targets: TARGETS, matrix };
    writeFileSync(file, JSON.stringify(scenario, null, 2));
    return file;
  };
  const cellsOf = (file: string): CellVerdict[] => (JSON.parse(readFileSync(file, 'utf8')) as Report).cells;
  const find = (cells: CellVerdict[], source: string, target: string): CellVerdict => {
    const found = cells.find((x) => x.source === source && x.target === target);
    if (!found) throw new Error(`no cell ${source} → ${target}`);
    return found;
  };

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-language-'));
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }));
    // The kit's LoadBalancer controller writes the address into the Service's status, as MetalLB would.
    for (const [name, want] of [['h3-gone', GONE_LB_IP], ['h3-web-lb', WEB_LB_IP]] as const) {
      for (let i = 0; i < 60; i++) {
        const ip = await kubectl(['get', 'svc', '-n', 'h3-b', name, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
        if (ip === want) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }, 120_000);
  afterAll(async () => {
    if (c) await kubectl(['delete', 'namespace', 'h3-a', 'h3-b', 'h3-nodns', '--ignore-not-found', '--wait=false']).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connected, refused, blocked and nxdomain pass on the outcomes they name; a named-port policy admits the named listener port; via clusterIP needs no DNS: exit 0', async () => {
    const json = join(dir, 'passing.json');
    const scenario = writeScenario('passing', {
      // A service name that does not exist is not used here: after the search list's NXDOMAINs the bare name goes to
      // CoreDNS's upstream, which this cluster does not have (SERVFAIL), so the agent reports dns-servfail.
      a: { connected: ['web', 'web-cip'], refused: ['web-other'], blocked: ['blackhole'], nxdomain: ['nosuch-name'] },
    });
    const run = await runCli(['run', scenario, '--budget', '90s', '--no-progress', '-o', `json=${json}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    const cells = cellsOf(json);
    const summary = cells.map((x) => `${x.target}: ${x.classification} ${x.reason}`).join('\n');
    expect(cells.filter((x) => !x.pass), summary).toEqual([]);
    expect(run.code, summary).toBe(0);

    // The listener declares `http`, so the policy's `port: http` resolves: the policy column agrees with the packets.
    expect(find(cells, 'a', 'web')).toMatchObject({ expect: 'allow', expectOutcome: 'connected', policy: 'allow', outcome: { kind: 'connected' } });
    expect(find(cells, 'a', 'web-other')).toMatchObject({ expect: 'deny', expectOutcome: 'refused', policy: 'deny', outcome: { kind: 'refused' } });
    expect(find(cells, 'a', 'web-other').reason).toMatch(/as expected \(refused\)$/);
    expect(find(cells, 'a', 'blackhole')).toMatchObject({ expectOutcome: 'blocked', path: 'blocked' });
    expect(['timeout', 'unreachable']).toContain(find(cells, 'a', 'blackhole').outcome.kind);
    expect(find(cells, 'a', 'nosuch-name')).toMatchObject({ expectOutcome: 'nxdomain', outcome: { kind: 'dns-nxdomain' }, reason: 'dns-nxdomain, as expected (nxdomain)' });
    // By ClusterIP: the agent never resolved a name.
    const clusterIP = (await kubectl(['get', 'svc', '-n', 'h3-b', 'h3-web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const cip = find(cells, 'a', 'web-cip');
    expect(cip.outcome).toEqual({ kind: 'connected' });
    expect(cip.attempts.every((x) => x.address === undefined)).toBe(true);
    expect(clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it('a LoadBalancer without endpoints fails allow cells (pod and runner) as data-plane and a deny cell as unknown; blocked against a REJECT is data-plane; the ClusterIP retry says the path is open; a headless Service names the target: exit 1', async () => {
    const json = join(dir, 'failing.json');
    const scenario = writeScenario('failing', {
      a: { allow: ['gone-lb'], deny: ['gone-lb-b'], blocked: ['web-other'], connected: ['headless'] },
      nodns: { allow: ['web-svc'] },
      ci: { allow: ['gone-lb'] },
    });
    const run = await runCli(['run', scenario, '--budget', '90s', '--no-progress', '-o', `json=${json}`]);
    expect(run.stderr).not.toMatch(/internal error/);
    const cells = cellsOf(json);
    const summary = cells.map((x) => `${x.source} → ${x.target}: ${x.classification} ${x.reason}`).join('\n');

    // Item 9: an LB IP without endpoints reaches no backend (here a pod sees a timeout, the runner an
    // unreachable); the allow cell fails for the missing endpoints, whatever the policies say.
    for (const source of ['a', 'ci']) {
      const cell = find(cells, source, 'gone-lb');
      expect(cell, summary).toMatchObject({ classification: 'data-plane', pass: false, path: 'blocked' });
      expect(cell.reason).toMatch(/^expected allow, observed .*: service h3-b\/h3-gone has no ready endpoints/);
    }
    expect(find(cells, 'ci', 'gone-lb').probe).toBe('runner');
    // Item 4: a deny check that could not test the policy.
    const deny = find(cells, 'a', 'gone-lb-b');
    expect(deny, summary).toMatchObject({ classification: 'unknown', pass: false, path: 'blocked' });
    expect(deny.reason).toMatch(/^service h3-b\/h3-gone has no ready endpoints: .* proves nothing about the policy \(the check could not test it\)$/);
    // kube-router REJECTs: `blocked` (dropped) was the wrong expectation of how.
    const rejected = find(cells, 'a', 'web-other');
    expect(rejected, summary).toMatchObject({ classification: 'data-plane', outcome: { kind: 'refused' } });
    expect(rejected.reason).toMatch(/^expected blocked \(a timeout or unreachable\), observed refused .*rejected rather than dropped/);
    // DNS egress is blocked for h3-nodns, the service port is not: the cell is a DNS fault, and the ClusterIP says the path is open.
    const clusterIP = (await kubectl(['get', 'svc', '-n', 'h3-b', 'h3-web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const retried = find(cells, 'nodns', 'web-svc');
    expect(retried, summary).toMatchObject({ classification: 'dns', pass: false, clusterIPRetry: { address: clusterIP, port: 8080, outcome: { kind: 'connected' }, path: 'open' } });
    expect(retried.outcome.kind).toMatch(/^dns-/);
    expect(retried.reason).toContain(`via ClusterIP ${clusterIP}:8080 the path is open`);
    // A headless Service has no ClusterIP: the cell says so, naming the target.
    const headless = find(cells, 'a', 'headless');
    expect(headless).toMatchObject({ classification: 'probe', pass: false });
    expect(headless.reason).toContain('target headless: via clusterIP, but service h3-b/h3-headless is headless (clusterIP: None)');
    // unknown (item 4) is a mismatch: exit 1 before the probe (3) and environment (4) failures.
    expect(run.code, summary).toBe(1);
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it("the runner's address: unknown without it (never the stand-in), decided by --runner-address, the flag over the scenario's address:", async () => {
    const scenario = writeScenario('runner', { ci: { connected: ['web-lb'] } });
    const withAddress = join(dir, 'runner-address.yaml');
    const parsed = JSON.parse(readFileSync(scenario, 'utf8')) as { sources: Record<string, Record<string, unknown>> };
    parsed.sources.ci = { runner: true, address: '198.51.100.7' };
    writeFileSync(withAddress, JSON.stringify(parsed, null, 2));
    const cellOf = async (file: string, extra: string[]): Promise<{ cell: CellVerdict; code: number | null }> => {
      const json = join(dir, `runner-${extra.length}-${file === scenario ? 'plain' : 'address'}.json`);
      const run = await runCli(['run', file, '--budget', '90s', '--no-progress', '-o', `json=${json}`, ...extra]);
      return { cell: find(cellsOf(json), 'ci', 'web-lb'), code: run.code };
    };

    // No address: the ipBlock on the node network decides, so the policy column cannot; the packets still flowed.
    const unknown = await cellOf(scenario, []);
    expect(unknown.cell).toMatchObject({ policy: 'unknown', pass: true, probe: 'runner', outcome: { kind: 'connected' } });
    expect(unknown.cell.policyExplanation?.[0]).toBe('the runner\'s address as the cluster sees it is not known: give --runner-address or `address:` on the runner source');
    expect(JSON.stringify(unknown.cell)).not.toContain('203.0.113.1');
    expect(unknown.code).toBe(0);
    // A node's address (kube-proxy masquerades the runner's traffic to it): admitted by the ipBlock.
    const node = await cellOf(scenario, ['--runner-address', '172.30.0.10']);
    expect(node.cell).toMatchObject({ policy: 'allow', pass: true, classification: 'pass' });
    // The scenario's address: outside the ipBlock, so the policy column says deny (the observation disagrees).
    const scenarioAddress = await cellOf(withAddress, []);
    expect(scenarioAddress.cell.policy).toBe('deny');
    expect(scenarioAddress.cell.policyExplanation?.join('\n')).toContain('198.51.100.7 is outside 172.30.0.0/16');
    // The flag wins over the scenario's address.
    expect((await cellOf(withAddress, ['--runner-address', '172.30.0.11'])).cell.policy).toBe('allow');
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });
});
