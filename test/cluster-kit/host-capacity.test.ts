/**
 * host-capacity.ts: the inotify count is the kernel's (real instances held by a real child process), and a start
 * waits for free instances and for the admission lock instead of failing beside other clusters.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { admitCluster, inotifyInstancesNeeded, inotifyInstancesOf } from './host-capacity.js';

describe('inotify admission for cluster starts', () => {
  // Its own lock: the machine-wide one is taken by the real cluster starts of the other test files meanwhile.
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-admission-test-'));
  const lock = join(dir, 'lock');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('counts the inotify instances a real process holds', async () => {
    // Each inotify_init is one instance; node's fs.watch shares one per event loop, so two workers hold two more.
    const child = spawn(process.execPath, ['-e', `
      const { Worker } = require('node:worker_threads');
      const src = "require('node:fs').watch(require('node:os').tmpdir()); require('node:worker_threads').parentPort.postMessage('watching')";
      require('node:fs').watch(require('node:os').tmpdir());
      const workers = [0, 1].map(() => new Promise((resolve) => new Worker(src, { eval: true }).once('message', resolve)));
      Promise.all(workers).then(() => console.log('watching'));
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await once(child.stdout, 'data');
      expect(inotifyInstancesOf(child.pid!)).toBe(3);
    } finally {
      child.kill();
      await once(child, 'exit');
    }
    expect(inotifyInstancesOf(child.pid!)).toBe(0);
  });

  it('refuses at once when the limit is below what one cluster needs, naming the sysctl', async () => {
    await expect(admitCluster(2, () => undefined, { limit: inotifyInstancesNeeded(2) - 1, measure: () => 0, lock })).rejects.toThrow(/needs about 30 inotify instances and fs\.inotify\.max_user_instances is 29: raise it/);
  });

  it('waits while other programs hold the instances, says so, and is admitted once they are free', async () => {
    let inUse = 120;
    const lines: string[] = [];
    let admitted = false;
    const admission = admitCluster(2, (l) => lines.push(l), { limit: 128, measure: () => inUse, lock }).then((a) => ((admitted = true), a));
    await new Promise((r) => setTimeout(r, 2_500));
    inUse = 90; // whatever the assertions below say, the wait ends and the lock is released
    const released = admission.then((a) => a.release());
    expect(admitted).toBe(false);
    expect(lines).toEqual(['waiting: 8 inotify instances free, this cluster needs 30 (fs.inotify.max_user_instances=128; other clusters or programs hold the rest)']);
    await released;
    expect(admitted).toBe(true);
  });

  it('a second start waits for the first one\'s release (its processes have not opened their instances yet)', async () => {
    const first = await admitCluster(1, () => undefined, { limit: 128, measure: () => 0, lock });
    let second = false;
    const next = admitCluster(1, () => undefined, { limit: 128, measure: () => 0, lock }).then((a) => ((second = true), a));
    await new Promise((r) => setTimeout(r, 2_500));
    expect(second).toBe(false);
    first.release();
    first.release(); // idempotent: must not remove the second start's lock
    (await next).release();
    expect(second).toBe(true);
  });

  it('aborts a wait on its signal', async () => {
    const controller = new AbortController();
    const waiting = admitCluster(1, () => undefined, { limit: 128, measure: () => 128, signal: controller.signal, lock });
    controller.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
  });
});
