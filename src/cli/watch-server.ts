/**
 * The HTTP side of `netcheck watch`: /metrics (Prometheus exposition, prom-client), /healthz, and the last run's
 * report at /report (JSON) and /report.md (Markdown), rendered by the same renderers as `run -o json|markdown`.
 * What the metrics hold is decided by src/report/watch-metrics.ts; this file only keeps them in a registry.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { UsageError } from '../model/errors.js';
import type { RunResult } from '../model/verdict.js';
import { renderJson } from '../report/render-json.js';
import { renderMarkdown } from '../report/render-markdown.js';
import { RUN_ERROR_REASONS, type RunErrorReason, type RunMetrics } from '../report/watch-metrics.js';

/** Start-latency buckets (seconds): a cached image starts in about a second, a pulled one in tens. */
const POD_START_BUCKETS = [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120];

export interface RunRecord {
  result: RunResult;
  metrics: RunMetrics;
  durationSeconds: number;
  /** When the run finished (epoch ms). */
  finishedAt: number;
  /** Seconds from each pod's creation to Running, by role. */
  podStarts: Array<{ role: 'probe' | 'listener'; seconds: number }>;
}

/** The registry `netcheck watch` serves, and how one finished run updates it. */
export class WatchMetrics {
  readonly registry = new Registry();
  private readonly cellOk = new Gauge({
    name: 'netcheck_cell_ok',
    help: 'Whether the cell held in the last run: 1 every check of it passed, 0 one failed (a known gap is 0 too).',
    labelNames: ['scenario', 'source', 'target', 'expect'] as const,
    registers: [this.registry],
  });
  private readonly cellFailingRuns = new Gauge({
    name: 'netcheck_cell_failing_runs',
    help: 'For each cell that failed in the last run: its classification, and how many consecutive runs it has failed so.',
    labelNames: ['scenario', 'source', 'target', 'expect', 'classification'] as const,
    registers: [this.registry],
  });
  private readonly findings = new Gauge({
    name: 'netcheck_findings',
    help: "The last run's diagnosis findings, by kind and by the team that owns the fix.",
    labelNames: ['kind', 'owner'] as const,
    registers: [this.registry],
  });
  private readonly runDuration = new Gauge({
    name: 'netcheck_run_duration_seconds',
    help: 'How long the last run took, pods started and deleted.',
    registers: [this.registry],
  });
  private readonly lastRun = new Gauge({
    name: 'netcheck_last_run_timestamp_seconds',
    help: 'When the last run finished (Unix time), whether it could probe or not.',
    registers: [this.registry],
  });
  private readonly runErrors = new Counter({
    name: 'netcheck_run_errors_total',
    help: 'Runs that could not probe all of the scenario, by reason (a run that could not probe is an error, not a pass).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly podStart = new Histogram({
    name: 'netcheck_probe_pod_start_seconds',
    help: 'Time from creating a probe or listener pod to seeing it Running.',
    labelNames: ['role'] as const,
    buckets: POD_START_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    // Every reason is exported from the start at 0, so increase() sees the first error of a reason.
    for (const reason of RUN_ERROR_REASONS) this.runErrors.inc({ reason }, 0);
    // No collectDefaultMetrics(): prom-client 15's nodejs_active_*_total gauges break Prometheus' naming rules
    // (`promtool check metrics`), and kubelet's cAdvisor metrics already give the pod's CPU and memory.
  }

  /** A run that ended in an error before it had a result (a bug): counted; its cells keep the last run's state. */
  recordError(reason: RunErrorReason): void {
    this.runErrors.inc({ reason });
  }

  record(run: RunRecord): void {
    // A cell that passes again, or a finding that went away, must not keep its old series.
    this.cellOk.reset();
    this.cellFailingRuns.reset();
    this.findings.reset();
    for (const cell of run.metrics.cells) this.cellOk.set(cell.labels, cell.ok);
    for (const cell of run.metrics.failing) this.cellFailingRuns.set(cell.labels, cell.runs);
    for (const finding of run.metrics.findings) this.findings.set(finding.labels, finding.count);
    for (const reason of run.metrics.errors) this.runErrors.inc({ reason });
    for (const start of run.podStarts) this.podStart.observe({ role: start.role }, start.seconds);
    this.runDuration.set(run.durationSeconds);
    this.lastRun.set(run.finishedAt / 1000);
  }
}

export interface ListenAddress {
  host?: string;
  port: number;
}

/** `--listen :9464`, `--listen 127.0.0.1:9464`, `--listen [::1]:9464`. */
export function parseListen(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`--listen ${value}: not HOST:PORT`, { hint: 'e.g. --listen :9464 (every address) or --listen 127.0.0.1:9464' });
  const host = match[1] ?? match[2];
  return host === undefined || host === '' ? { port } : { host, port };
}

export interface WatchServer {
  /** The address it listens on (the port chosen when 0 was asked for). */
  address: AddressInfo;
  /** The last finished run, served at /report and /report.md from now on. */
  setLastRun(result: RunResult): void;
  close(): Promise<void>;
}

export async function startWatchServer(listen: ListenAddress, metrics: WatchMetrics): Promise<WatchServer> {
  let last: RunResult | undefined;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://netcheck').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET\n');
    switch (path) {
      case '/metrics':
        return send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
      case '/healthz':
        return send(res, 200, 'text/plain', 'ok\n');
      case '/report':
        return last ? send(res, 200, 'application/json', renderJson(last)) : notYet(res);
      case '/report.md':
        return last ? send(res, 200, 'text/markdown; charset=utf-8', renderMarkdown(last)) : notYet(res);
      default:
        return send(res, 404, 'text/plain', 'not found: /metrics, /healthz, /report, /report.md\n');
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`--listen ${listen.host ?? ''}:${listen.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`, { hint: 'choose another port' })),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    setLastRun: (result) => void (last = result),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function notYet(res: ServerResponse): void {
  send(res, 503, 'text/plain', 'no run has finished yet\n');
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
