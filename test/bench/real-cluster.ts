/**
 * What the real-cluster benches share: a skip line on a machine that cannot run the cluster, a warm component
 * cache before anything is timed, and startCluster's progress on stderr stamped with the seconds since the
 * start, which is the breakdown of where a start's time goes.
 */
import { buildComponents } from '../cluster-kit/build.js';
import { clusterSkipReason } from '../cluster-kit/cluster-fixture.js';
import { startCluster, type ClusterOptions, type RunningCluster } from '../cluster-kit/cluster.js';

const CACHED = 'build: components cached';

function note(bench: string, line: string): void {
  process.stderr.write(`${bench}: ${line}\n`);
}

/** True (after printing `{"bench":…,"skipped":reason}`) when this machine cannot run the real cluster. */
export function skippedWithoutCluster(bench: string): boolean {
  const reason = clusterSkipReason();
  if (reason === undefined) return false;
  console.log(JSON.stringify({ bench, cluster: 'real', skipped: reason }));
  return true;
}

/**
 * Builds the components if the cache is cold, untimed, and says so: a bench's figure is always a warm-cache
 * start, so a cold machine still gets a comparable number (and the build's minutes are not mistaken for one).
 */
export async function warmComponentCache(bench: string): Promise<void> {
  const started = performance.now();
  let cached = false;
  await buildComponents({
    onProgress: (line) => {
      if (line.startsWith(CACHED)) cached = true;
      else note(bench, line);
    },
  });
  if (!cached) note(bench, `component cache was cold: built in ${((performance.now() - started) / 1000).toFixed(0)} s, before the timed start`);
}

/**
 * startCluster() timed from the call to ready (nodes Ready, seeded workloads Ready, CoreDNS answering, kube-router's
 * chains on every node). Its own cache lookup is part of the time; it must find the cache warm, or the bench
 * fails rather than pass a build off as a start.
 */
export async function startTimedCluster(bench: string, options: Omit<ClusterOptions, 'onProgress' | 'components'>): Promise<{ cluster: RunningCluster; seconds: number }> {
  let cached = false;
  const started = performance.now();
  const cluster = await startCluster({
    ...options,
    onProgress: (line) => {
      if (line.startsWith(CACHED)) cached = true;
      note(bench, `${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s ${line}`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  if (!cached) {
    await cluster.stop();
    throw new Error(`${bench}: startCluster built components during the timed start (the cache changed under it); its time is not a warm start`);
  }
  return { cluster, seconds };
}

/** The median of some figures (NaN for none). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

/** Two decimals, for the JSON lines. */
export const round = (x: number): number => Math.round(x * 100) / 100;
