/**
 * netcheck on watch, end to end on the REAL cluster: the Helm chart's watch Deployment (netcheck's own image) runs
 * financial-ml every 10 s; a real Prometheus (Debian's), started inside the cluster's outside host so that its
 * traffic stays in the cluster's namespaces, scrapes it through the chart's Service (a LoadBalancer address the
 * kit routes to the outside host) and evaluates the chart's own alert rules. CoreDNS scaled to 0 must show, through
 * Prometheus' HTTP API, the DNS cells at 0 and the DNS alert pending and then firing; CoreDNS back, the alert
 * resolves. And a watch stopped mid-run (SIGTERM) exits 0 and leaves no probe pod.
 * Asserted: metric values, alert states, exit codes, pods left — never wall time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCluster } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import { builtHelm } from '../cluster-kit/build.js';
import { clusterSkipReason, useCluster } from '../cluster-kit/cluster-fixture.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { buildNetcheckImage } from '../cluster-kit/images.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { built, MANIFESTS, netcheckPodsLeft, runBuiltCli, waitFor } from './built-cli.js';

const CHART = join(import.meta.dirname, '..', '..', 'deploy', 'helm', 'netcheck');
const RELAY = join(import.meta.dirname, '..', 'cluster-kit', 'relay.cjs');
/** The watch Service's LoadBalancer address: routed to the outside host by the kit, inside its namespaces only. */
const WATCH_LB = '192.168.1.220';
const RELEASE = 'nc';
const NAMESPACE = 'netcheck-watch';

const helm = await builtHelm().catch(() => undefined);
const prometheusMissing = !existsSync('/usr/bin/prometheus');
const skip = !built
  ? 'dist is not built'
  : (clusterSkipReason() ??
    (helm === undefined ? 'helm is not built (npm run cluster -- build)' : prometheusMissing ? "Debian's prometheus package is not installed (.ci/run installs it)" : undefined));
if (skip !== undefined) console.warn(`e2e watch: skipped — ${skip}`);

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

describe.skipIf(skip !== undefined)('netcheck watch on the real cluster: the chart, a real Prometheus, the alerts', { timeout: 600_000 }, () => {
  const cluster = useCluster({ manifests: [MANIFESTS] });
  let c: RunningCluster;
  let client: ClusterClient;
  let dir: string;
  const started: ChildProcess[] = [];

  const kubectl = async (...args: string[]): Promise<string> => (await runCommand(['kubectl', '--kubeconfig', c.kubeconfigPath, ...args])).stdout;
  const helmCmd = async (...args: string[]): Promise<string> => (await runCommand([helm as string, '--kubeconfig', c.kubeconfigPath, ...args])).stdout;

  beforeAll(async () => {
    c = cluster();
    client = await connectCluster({ kubeconfig: c.kubeconfigPath });
    dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-watch-'));
  });
  afterAll(async () => {
    for (const child of started) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('close', resolve));
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Prometheus' HTTP API, reached through a unix socket relayed into the outside host (where it listens on loopback). */
  const prometheusApi = async <T>(socket: string, path: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          const parsed = JSON.parse(body) as { status: string; data: T; error?: string };
          if (parsed.status !== 'success') reject(new Error(`${path}: ${parsed.error ?? body}`));
          else resolve(parsed.data);
        });
      });
      req.on('error', reject);
      req.end();
    });
  const query = async (socket: string, promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> =>
    (await prometheusApi<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(socket, `/api/v1/query?query=${encodeURIComponent(promql)}`)).result;
  const dnsAlerts = async (socket: string): Promise<PromAlert[]> =>
    (await prometheusApi<{ alerts: PromAlert[] }>(socket, '/api/v1/alerts')).alerts.filter((a) => a.labels['alertname'] === 'NetcheckDNSFault');

  /** A process in the outside host, ended (by its pid) in afterAll if the test has not ended it. */
  const startInOutsideHost = (name: string, argv: string[]): ChildProcess => {
    const [command, ...args] = c.outsideHostArgv(argv);
    const child = spawn(command as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail = '';
    child.stderr?.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
    child.once('close', (code, signal) => {
      if (code !== 0 && signal === null) process.stderr.write(`${name} exited ${code}: ${tail}\n`);
    });
    started.push(child);
    return child;
  };

  it('the chart\'s watch Deployment, scraped by Prometheus: CoreDNS at 0 drops the DNS cells to 0 and the DNS alert goes pending, then firing; CoreDNS back, it resolves', async () => {
    const image = await buildNetcheckImage(join(dir, 'image'));
    await c.importImages([image]);
    const [repository, tag] = image.ref.split(/:(?=[^:]+$)/) as [string, string];
    const values = join(dir, 'values.yaml');
    // JSON is YAML: the chart's values for a fast test (a run every 10 s, alerts after 20 s). The scenario's own
    // timeout and retries: on a loaded machine a 1 s lookup without retry does fail now and then, and pages.
    writeFileSync(values, JSON.stringify({
      mode: 'watch',
      image: { repository, tag, pullPolicy: 'Never' },
      probeImage: c.probeImage,
      budget: '60s',
      watch: { everySeconds: 10 },
      service: { type: 'LoadBalancer', loadBalancerIP: WATCH_LB },
      alerts: { for: '20s' },
    }));
    const rules = join(dir, 'netcheck.rules.yaml');
    const rendered = parse(await helmCmd('template', RELEASE, CHART, '-n', NAMESPACE, '-f', values, '--show-only', 'templates/alert-rules.yaml')) as { data: Record<string, string> };
    writeFileSync(rules, rendered.data['netcheck.rules.yaml'] as string);
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, JSON.stringify({
      global: { scrape_interval: '2s', evaluation_interval: '2s' },
      rule_files: [rules],
      scrape_configs: [{ job_name: 'netcheck', static_configs: [{ targets: [`${WATCH_LB}:9464`] }] }],
    }));

    await helmCmd('install', RELEASE, CHART, '-n', NAMESPACE, '--create-namespace', '-f', values, '--wait', '--timeout', '5m');
    try {
      const socket = join(dir, 'prometheus.sock');
      startInOutsideHost('prometheus', ['prometheus', `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, '--web.listen-address=127.0.0.1:9090', '--log.level=warn']);
      startInOutsideHost('prometheus relay', [process.execPath, RELAY, 'unix-to-tcp', socket, '127.0.0.1:9090']);

      // A healthy start: every source resolves cluster DNS (Prometheus' own view, scraped through the Service), and
      // no DNS alert is pending or firing.
      const healthy = await waitFor('the DNS cells at 1 and no DNS alert in Prometheus', async () => {
        const cells = await query(socket, 'netcheck_cell_ok{target="cluster-dns"}');
        return cells.length > 0 && cells.every((s) => s.value[1] === '1') && (await dnsAlerts(socket)).length === 0 ? cells : undefined;
      }, 300, 1000);
      expect(healthy.map((s) => s.metric['source']).sort()).toEqual(expect.arrayContaining(['serving', 'training']));
      expect(healthy.every((s) => s.metric['scenario'] === 'financial-ml' && s.metric['expect'] === 'allow')).toBe(true);

      await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=0');
      try {
        const down = await waitFor('the DNS cells at 0 in Prometheus', async () => {
          const cells = await query(socket, 'netcheck_cell_ok{target="cluster-dns"}');
          return cells.length === healthy.length && cells.every((s) => s.value[1] === '0') ? cells : undefined;
        }, 240, 1000);
        expect(down).toHaveLength(healthy.length);
        const failing = await query(socket, 'netcheck_cell_failing_runs{target="cluster-dns"}');
        expect(failing.map((s) => s.metric['classification'])).toEqual(failing.map(() => 'dns'));
        // Pending once a cell has failed in two runs in a row, firing `for:` (20 s) later.
        const states = new Set<string>();
        await waitFor('the DNS alert firing', async () => {
          for (const a of await dnsAlerts(socket)) states.add(a.state);
          return states.has('firing') ? true : undefined;
        }, 300, 500);
        expect([...states].sort()).toEqual(['firing', 'pending']);
        const firing = (await dnsAlerts(socket)).filter((a) => a.state === 'firing');
        expect(firing.map((a) => a.labels['severity'])).toEqual(firing.map(() => 'page'));
        expect(firing.map((a) => a.labels['target'])).toContain('cluster-dns');
      } finally {
        await kubectl('-n', 'kube-system', 'scale', 'deployment/coredns', '--replicas=1');
        await kubectl('-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=120s');
      }
      await waitFor('the DNS alert resolved', async () => ((await dnsAlerts(socket)).length === 0 ? true : undefined), 300, 1000);
      const back = await query(socket, 'netcheck_cell_ok{target="cluster-dns"}');
      expect(back.map((s) => s.value[1])).toEqual(back.map(() => '1'));
      // Every error reason is exported from the start, at 0, so that increase() sees a first error.
      expect((await query(socket, 'netcheck_run_errors_total')).map((s) => s.metric['reason']).sort()).toEqual(
        ['budget-exceeded', 'cluster-unreachable', 'forbidden', 'internal', 'probe-pod-failed', 'scenario-not-on-cluster'],
      );
    } finally {
      for (const child of started) child.kill('SIGTERM');
      // The watcher stopped as the README says to before an uninstall: scaled to 0, its pod gets SIGTERM while its
      // rights still exist, and deletes the probe pods of the run it is in (`helm uninstall` alone removes the
      // ServiceAccount's rights at the same time as the Deployment, and the pods of that run would stay until
      // their deadline, --budget: seen on this cluster).
      await kubectl('-n', NAMESPACE, 'scale', `deployment/${RELEASE}-netcheck`, '--replicas=0');
      await kubectl('-n', NAMESPACE, 'wait', '--for=delete', 'pod', '-l', `app.kubernetes.io/instance=${RELEASE}`, '--timeout=120s');
      await helmCmd('uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '3m');
      await kubectl('delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=true');
    }
    expect(await netcheckPodsLeft(client)).toEqual([]);
  });

  it('SIGTERM to `netcheck watch` mid-run, and more signals while it deletes: the schedule stops, the running probe pods are deleted, exit 0', async () => {
    let sent = false;
    let repeated = false;
    const run = await runBuiltCli(c, ['watch', 'financial-ml', '--kubeconfig', c.kubeconfigPath, '--image', c.probeImage, '--every', '1h', '--listen', '127.0.0.1:0', '--budget', '60s'], {
      onStderr: (stderr, pid) => {
        if (sent && !repeated && /SIGTERM: stopping the schedule/.test(stderr)) {
          // As a group signal relayed by wrappers arrives: again, and a Ctrl-C on top, during the teardown.
          repeated = true;
          process.kill(pid, 'SIGTERM');
          process.kill(pid, 'SIGINT');
        }
        if (sent || !/netcheck watch: run \S+ \(if it is killed/.test(stderr)) return;
        sent = true;
        // Mid-run: once the run's probe pods exist.
        void waitFor('probe pods of the watch', async () => ((await netcheckPodsLeft(client)).length > 0 ? true : undefined), 240, 250).then(() => process.kill(pid, 'SIGTERM'));
      },
    });
    expect(run.stderr).toMatch(/SIGTERM: stopping the schedule and deleting the running probe pods/);
    expect(run.stderr).toMatch(/SIGTERM again: still deleting the running probe pods/);
    expect(run.stderr).toMatch(/stopped by SIGTERM; no probe pod of this watch is left/);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect(run.stderr).not.toMatch(/internal error|\n\s+at /);
    // This watch's runs, by the ids it printed (pods of another test's run are that test's to answer for).
    const runIds = [...run.stderr.matchAll(/netcheck watch: run (\S+) \(if it is killed/g)].map((m) => m[1] as string);
    expect(runIds).toHaveLength(1);
    expect((await netcheckPodsLeft(client)).filter((pod) => runIds.some((id) => pod.includes(`netcheck-${id.toLowerCase()}-`)))).toEqual([]);
  });
});
