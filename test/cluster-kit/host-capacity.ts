/**
 * Admission of a cluster start against the one machine-wide resource clusters run out of first: inotify instances.
 *
 * Every kubelet (config, certificates, cAdvisor, plugins), kube-controller-manager and kube-apiserver (dynamic CA
 * and serving files), containerd and kube-proxy opens its own; a 2-node cluster holds about 24. The limit,
 * fs.inotify.max_user_instances, is per user and 128 by default, so the fifth or sixth cluster on a shared machine
 * (two suites side by side, each with two workers) fails to start with "too many open files" from the kubelet
 * and a containerd whose CRI plugin never loaded. kind's answer is to raise the sysctl; these tests may not touch
 * the machine's sysctls, so a start waits instead until the instances it needs are free.
 *
 * The check and the start of the processes that take instances happen under one lock (a directory in tmpdir,
 * owned by a PID, taken over when its owner is gone): two starts never both see the same free instances.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isProcessAlive, readStartTime } from './processes.js';

/** Measured on this kit's clusters (kubelet 6–7, containerd 1, kube-proxy 1, a CNI agent's) plus headroom. */
export const INOTIFY_PER_NODE = 10;
/** kube-controller-manager 5, kube-apiserver 3, plus headroom. */
export const INOTIFY_CONTROL_PLANE = 10;

const MACHINE_LOCK = join(tmpdir(), 'netcheck-cluster-admission.lock');
/** Between measurements while waiting (one measurement reads every process's fds: ~0.1–0.5 s of CPU). */
const POLL_MS = 2_000;
/** How often a start that is waiting says so again. */
const REPORT_EVERY_MS = 60_000;

export function inotifyInstancesNeeded(nodes: number): number {
  return INOTIFY_CONTROL_PLANE + INOTIFY_PER_NODE * nodes;
}

/** fs.inotify.max_user_instances (undefined where /proc does not say: then nothing is checked). */
export function inotifyLimit(): number | undefined {
  try {
    return Number.parseInt(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'), 10);
  } catch {
    return undefined;
  }
}

/** inotify instances held by processes of this user (the limit counts per real user id). */
export function inotifyInstancesInUse(uid = process.getuid?.() ?? 0): number {
  let count = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (statSync(`/proc/${pid}`).uid === uid) count += inotifyInstancesOf(Number(pid));
    } catch {
      // The process ended while being read.
    }
  }
  return count;
}

/** inotify instances one process holds (0 when it is gone). */
export function inotifyInstancesOf(pid: number): number {
  let count = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) if (readlinkSafe(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') count += 1;
  } catch {
    return 0;
  }
  return count;
}

function readlinkSafe(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    let owner: { pid: number; startTime?: string } | undefined;
    try {
      owner = JSON.parse(readFileSync(join(lock, 'owner.json'), 'utf8')) as { pid: number; startTime?: string };
    } catch {
      owner = undefined; // being written by its new owner, or left half-written by a killed one: decided below
    }
    const stale = owner !== undefined ? !isProcessAlive(owner.pid, owner.startTime) : Date.now() - statSync(lock).mtimeMs > 10_000;
    if (stale) rmSync(lock, { recursive: true, force: true });
    return false;
  }
  writeFileSync(join(lock, 'owner.json'), JSON.stringify({ pid: process.pid, startTime: readStartTime(process.pid) }));
  return true;
}

export interface AdmissionOptions {
  signal?: AbortSignal;
  /** The limit and the measurement, where a test stands in for the machine's (default: /proc). */
  limit?: number;
  measure?: () => number;
  /** The lock directory (default: the machine-wide one every cluster start shares; tests use their own). */
  lock?: string;
}

export interface Admission {
  /** Lets the next start measure; call once this start's processes have opened their instances. Idempotent. */
  release(): void;
}

/**
 * Waits until this machine has the inotify instances a cluster of `nodes` nodes needs, and holds the admission
 * lock until release(). Throws at once when the limit itself is below what one cluster needs.
 */
export async function admitCluster(nodes: number, progress: (line: string) => void, options: AdmissionOptions = {}): Promise<Admission> {
  const { signal, measure = inotifyInstancesInUse, lock = MACHINE_LOCK } = options;
  const limit = options.limit ?? inotifyLimit();
  const needed = inotifyInstancesNeeded(nodes);
  if (limit !== undefined && limit < needed) {
    throw new Error(`cluster: a ${nodes}-node cluster needs about ${needed} inotify instances and fs.inotify.max_user_instances is ${limit}: raise it (sysctl) or start fewer nodes`);
  }
  let lastReport = 0;
  for (;;) {
    signal?.throwIfAborted();
    if (tryLock(lock)) {
      const inUse = limit === undefined ? 0 : measure();
      if (limit === undefined || limit - inUse >= needed) {
        let held = true;
        return {
          release() {
            if (held) rmSync(lock, { recursive: true, force: true });
            held = false;
          },
        };
      }
      rmSync(lock, { recursive: true, force: true });
      if (Date.now() - lastReport >= REPORT_EVERY_MS) {
        lastReport = Date.now();
        progress(`waiting: ${limit - inUse} inotify instances free, this cluster needs ${needed} (fs.inotify.max_user_instances=${limit}; other clusters or programs hold the rest)`);
      }
    }
    // An abort ends the wait; the loop's first line then throws the signal's own reason.
    await delay(POLL_MS, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
}
