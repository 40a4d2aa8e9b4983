/**
 * What a cancelled CI job or `kill -TERM -- -PGID` does to a long-lived command, on a busy machine: the tests
 * start the command in its own process group, load every core with busy loops, and signal the group more than
 * once while it cleans up. Shared by the CLI's and the real cluster's signal tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuHogs {
  /** Kills exactly the busy loops started here. */
  stop(): void;
}

/** One busy loop per core (a shared runner with other jobs on it); nice 0, like the command under test. */
export function startCpuHogs(count = availableParallelism()): CpuHogs {
  const hogs: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  return {
    stop() {
      for (const hog of hogs) hog.kill('SIGKILL');
    },
  };
}

/** The processes whose process group is `pgid` (field 5 of /proc/<pid>/stat, after the parenthesised name). */
export function processesInGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

/** Resolves once no process of the group is left (the test's own timeout bounds the wait). */
export async function groupGone(pgid: number): Promise<void> {
  while (processesInGroup(pgid).length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * The group signalled twice 20 ms apart, as `timeout` and a CI runner's cancel do (SIGTERM), or a terminal's
 * Ctrl-C pressed twice (SIGINT); then once more when `stopping` resolves (the command said it is cleaning up),
 * because the kernel merges a signal that is still pending into the first one, and the point is a signal that
 * lands during the cleanup.
 */
export async function signalGroupTwice(pgid: number, stopping: Promise<unknown>, signal: 'SIGTERM' | 'SIGINT' = 'SIGTERM'): Promise<void> {
  process.kill(-pgid, signal);
  await new Promise((resolve) => setTimeout(resolve, 20));
  process.kill(-pgid, signal);
  await stopping;
  try {
    process.kill(-pgid, signal);
  } catch {
    // the whole group is already gone: the cleanup was quicker than the signal
  }
}
