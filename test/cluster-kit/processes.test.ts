/**
 * processes.ts teardown on real cgroups: a process in a FROZEN cgroup (runc killed while it froze a container)
 * ignores SIGKILL until thawed, so killCgroup thaws the tree first; without that a sweep failed every later start.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterSkipReason } from './cluster-fixture.js';
import { createCgroup, isProcessAlive, killCgroup, processesInCgroup, startComponent } from './processes.js';

const FREEZER = '/sys/fs/cgroup/freezer';
const skip = clusterSkipReason() ?? (existsSync(FREEZER) || existsSync('/sys/fs/cgroup/cgroup.freeze') ? undefined : 'no cgroup freezer');
if (skip !== undefined) console.warn(`cluster-kit processes: skipped — ${skip}`);

describe.skipIf(skip !== undefined)('killCgroup', () => {
  it('ends a process whose cgroup is frozen, and removes the cgroup', async () => {
    const path = `netcheck-kit-test-${process.pid}-${Date.now().toString(36)}`;
    const logDir = mkdtempSync(join(tmpdir(), 'netcheck-kit-processes-'));
    try {
      createCgroup(`${path}/frozen`);
      const sleeper = startComponent('sleeper', ['sleep', '300'], { cgroup: `${path}/frozen`, logDir });
      await new Promise((r) => setTimeout(r, 300)); // the shell exec'd sleep inside the cgroup
      const [pid] = processesInCgroup(path);
      expect(pid).toBeGreaterThan(0);
      // Every v1 hierarchy tracks membership separately: put it in the freezer one too, then freeze the parent.
      if (existsSync(FREEZER)) {
        writeFileSync(join(FREEZER, path, 'frozen', 'cgroup.procs'), String(pid));
        writeFileSync(join(FREEZER, path, 'freezer.state'), 'FROZEN');
      } else {
        writeFileSync(join('/sys/fs/cgroup', path, 'cgroup.freeze'), '1');
      }
      process.kill(pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      expect(isProcessAlive(pid!)).toBe(true); // frozen: the SIGKILL waits
      await killCgroup(path, 10_000);
      expect(isProcessAlive(pid!)).toBe(false);
      expect(existsSync(join(FREEZER, path))).toBe(false);
      await sleeper.exited;
    } finally {
      await killCgroup(path, 10_000).catch(() => undefined);
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});
