/**
 * src/cli/watch-server.ts over real HTTP on loopback: /metrics as Prometheus reads it (and as `promtool check
 * metrics`, Prometheus' own linter, judges its names), /healthz, and the last report in JSON and Markdown.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { CellVerdict, RunResult } from '../../src/model/verdict.js';
import { renderJson } from '../../src/report/render-json.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { runMetrics, type FailureStreaks } from '../../src/report/watch-metrics.js';
import { parseListen, startWatchServer, WatchMetrics, type WatchServer } from '../../src/cli/watch-server.js';
import { ProbeError } from '../../src/model/errors.js';
import { runResult, verdict } from '../run/scenario-builder.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;

let server: WatchServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ metrics: WatchMetrics; url: string; server: WatchServer }> {
  const metrics = new WatchMetrics();
  server = await startWatchServer({ host: '127.0.0.1', port: 0 }, metrics);
  return { metrics, url: `http://127.0.0.1:${server.address.port}`, server };
}

function record(metrics: WatchMetrics, srv: WatchServer, result: RunResult, streaks: FailureStreaks = new Map(), failures: ProbeError[] = []): FailureStreaks {
  const measured = runMetrics(result, failures, streaks);
  metrics.record({ result, metrics: measured, durationSeconds: 12.5, finishedAt: Date.parse(result.finishedAt), podStarts: [{ role: 'probe', seconds: 1.4 }, { role: 'listener', seconds: 0.7 }] });
  srv.setLastRun(result);
  return measured.streaks;
}

const fail = (p: Partial<CellVerdict> & { source: string; target: string }): CellVerdict => verdict({ pass: false, ...p });
const dnsDown = runResult([verdict({ source: 'serving', target: 'mlflow' }), fail({ source: 'serving', target: 'cluster-dns', classification: 'dns' })]);
const allGood = runResult([verdict({ source: 'serving', target: 'mlflow' }), verdict({ source: 'serving', target: 'cluster-dns' })]);

/** The value of the one sample of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)) : false);
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('watch server', () => {
  it('serves the last run: cells, their failing streak, duration, timestamp, pod start latency, errors', async () => {
    const { metrics, url, server: srv } = await start();
    let streaks = record(metrics, srv, dnsDown);
    streaks = record(metrics, srv, dnsDown, streaks, [new ProbeError('pod x never ran', { reason: 'ImagePullFailed' })]);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'netcheck_cell_ok', { source: 'serving', target: 'cluster-dns', expect: 'allow', scenario: 'financial-ml' })).toBe(0);
    expect(sample(text, 'netcheck_cell_ok', { target: 'mlflow' })).toBe(1);
    expect(sample(text, 'netcheck_cell_failing_runs', { target: 'cluster-dns', classification: 'dns' })).toBe(2);
    expect(sample(text, 'netcheck_run_duration_seconds')).toBe(12.5);
    expect(sample(text, 'netcheck_last_run_timestamp_seconds')).toBe(Date.parse(dnsDown.finishedAt) / 1000);
    expect(sample(text, 'netcheck_run_errors_total', { reason: 'probe-pod-failed' })).toBe(1);
    // Every reason is there from the start, so that increase() sees the first error.
    expect(sample(text, 'netcheck_run_errors_total', { reason: 'budget-exceeded' })).toBe(0);
    expect(sample(text, 'netcheck_probe_pod_start_seconds_count', { role: 'probe' })).toBe(2);
    expect(sample(text, 'netcheck_probe_pod_start_seconds_bucket', { role: 'probe', le: '1' })).toBe(0);
    expect(sample(text, 'netcheck_probe_pod_start_seconds_bucket', { role: 'probe', le: '2' })).toBe(2);

    // The cell passes again: its failing series goes away, it is not left at its old value.
    record(metrics, srv, allGood, streaks);
    const after = await (await fetch(`${url}/metrics`)).text();
    expect(sample(after, 'netcheck_cell_ok', { target: 'cluster-dns' })).toBe(1);
    expect(after).not.toMatch(/^netcheck_cell_failing_runs\{/m);
  });

  it.skipIf(!promtool)('its names and help pass `promtool check metrics`', async () => {
    const { metrics, url, server: srv } = await start();
    record(metrics, srv, dnsDown);
    const text = await (await fetch(`${url}/metrics`)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, problems: `${check.stdout}${check.stderr}`.trim() }).toEqual({ status: 0, problems: '' });
  });

  it('serves the last report as JSON and Markdown, the renderers of `run -o json|markdown`', async () => {
    const { metrics, url, server: srv } = await start();
    expect((await fetch(`${url}/report`)).status).toBe(503);
    expect((await fetch(`${url}/report.md`)).status).toBe(503);
    record(metrics, srv, dnsDown);
    const json = await fetch(`${url}/report`);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.text()).toBe(renderJson(dnsDown));
    expect(await (await fetch(`${url}/report.md`)).text()).toBe(renderMarkdown(dnsDown));
    const health = await fetch(`${url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('a port in use is bad input naming --listen', async () => {
    const { server: srv } = await start();
    await expect(startWatchServer({ host: '127.0.0.1', port: srv.address.port }, new WatchMetrics())).rejects.toThrow(/^--listen 127\.0\.0\.1:\d+: the port is in use$/);
  });
});

describe('parseListen', () => {
  it.each([
    [':9464', { port: 9464 }],
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['[::1]:80', { host: '::1', port: 80 }],
  ])('%s', (value, address) => {
    expect(parseListen(value)).toEqual(address);
  });

  it.each(['9464', 'host:', ':99999', 'a:b:1'])('%s is refused, naming the flag', (value) => {
    expect(() => parseListen(value)).toThrow(`--listen ${value}: not HOST:PORT`);
  });
});
