/**
 * `analyze` at platform scale: synthetic clusters (test/bench/scale-cluster.ts) written as YAML to a temp dir, then
 * - load: the manifests parsed into a snapshot in process; engine: then every ordered pod pair × every port its
 *   destination declares (the verdicts analyze prints), over pod classes; both CPU seconds, the median of RUNS runs;
 * - end to end: the built CLI (`node dist/bin/main.js analyze --manifests DIR -o json > FILE`, run `npm run build`
 *   first) under /usr/bin/time: wall and CPU (user + system) seconds, peak RSS, output bytes, exit code, and whether
 *   stdout is one JSON document.
 * CPU seconds are printed beside wall seconds because a shared machine's load stretches wall time many times over;
 * `loadAverage` says how loaded it was.
 * Prints one JSON line per cluster. NETCHECK_BENCH_SCALE=standalone-1k,deployments-10k picks some; the end-to-end
 * run is stopped after NETCHECK_BENCH_TIMEOUT seconds (default 300) and reported as not finished.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeClassMatrices } from '../../src/policy/classes.js';
import { snapshotFromManifestFiles } from '../../src/policy/manifests.js';
import { readInputFiles } from '../../src/scenario/files.js';
import { writeScaleCluster, type ScaleShape } from './scale-cluster.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'bin', 'main.js');
if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first`);
const RUNS = Number(process.env['NETCHECK_BENCH_RUNS'] ?? 3);
const TIMEOUT = Number(process.env['NETCHECK_BENCH_TIMEOUT'] ?? 300);

const shapes: Record<string, ScaleShape> = {
  'standalone-1k': { kind: 'standalone', pods: 1000, namespaces: 50, policies: 500 },
  'deployments-1k': { kind: 'deployments', pods: 1000, namespaces: 50, policies: 200 },
  'standalone-10k': { kind: 'standalone', pods: 10000, namespaces: 200, policies: 2000 },
  'deployments-10k': { kind: 'deployments', pods: 10000, namespaces: 500, policies: 2000 },
};
const only = (process.env['NETCHECK_BENCH_SCALE'] ?? '').split(',').filter(Boolean);

/** The first and last bytes say whether the CLI wrote one JSON object (full parsing is the jq user's cost, not ours). */
function looksLikeOneDocument(file: string, bytes: number): boolean {
  if (bytes < 2) return false;
  if (bytes < 256 * 1024 * 1024) {
    try {
      JSON.parse(readFileSync(file, 'utf8'));
      return true;
    } catch {
      return false;
    }
  }
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(1);
  const tail = Buffer.alloc(2);
  readSync(fd, head, 0, 1, 0);
  readSync(fd, tail, 0, 2, bytes - 2);
  closeSync(fd);
  return head.toString() === '{' && tail.toString() === '}\n';
}

const base = mkdtempSync(join(tmpdir(), 'netcheck-analyze-scale-'));
try {
  for (const [name, shape] of Object.entries(shapes)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const written = writeScaleCluster(join(base, name), shape);
    const files = await readInputFiles([written.dir]);
    const loadTimes: number[] = [];
    const times: number[] = [];
    let classes = 0;
    let cells = 0;
    const cpu = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    for (let run = 0; run < RUNS; run++) {
      const start = cpu();
      const { snapshot } = snapshotFromManifestFiles(files);
      const loaded = cpu();
      const matrices = computeClassMatrices(snapshot, {});
      times.push(cpu() - loaded);
      loadTimes.push(loaded - start);
      classes = matrices.classes.reps.length;
      cells = matrices.cellCount;
    }
    times.sort((a, b) => a - b);
    loadTimes.sort((a, b) => a - b);
    const out = join(base, `${name}.json`);
    const fd = openSync(out, 'w');
    // timeout(1) stops the CLI itself (killing /usr/bin/time would leave it running).
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'timeout', '-s', 'KILL', String(TIMEOUT), process.execPath, cli, 'analyze', '--manifests', written.dir, '-o', 'json'], {
      cwd: root,
      stdio: ['ignore', fd, 'pipe'],
    });
    closeSync(fd);
    const stderr = r.stderr.toString().trim().split('\n');
    const [seconds, user, system, kb] = (stderr.at(-1) ?? '').split(' ').map(Number);
    const bytes = statSync(out).size;
    const finished = r.status !== 137;
    console.log(
      JSON.stringify({
        bench: 'analyze-scale',
        cluster: name,
        pods: written.pods,
        podObjects: written.podObjects,
        policies: written.policies,
        classes,
        cells,
        loadCpuSeconds: Number((loadTimes[Math.floor(loadTimes.length / 2)] as number).toFixed(3)),
        engineCpuSeconds: Number((times[Math.floor(times.length / 2)] as number).toFixed(3)),
        e2eSeconds: finished ? seconds : `>${TIMEOUT} (stopped)`,
        e2eCpuSeconds: finished && user !== undefined && system !== undefined ? Number((user + system).toFixed(2)) : null,
        peakRssMB: finished && kb !== undefined ? Math.round(kb / 1024) : null,
        outputBytes: bytes,
        exit: finished ? r.status : null,
        validJson: finished && looksLikeOneDocument(out, bytes),
        loadAverage: Number(loadavg()[0]?.toFixed(1)),
        ...(finished && r.status !== 0 ? { error: stderr.slice(0, -1).join(' ').slice(0, 300) } : {}),
      }),
    );
    rmSync(out, { force: true });
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
