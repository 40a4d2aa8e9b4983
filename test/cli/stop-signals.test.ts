/**
 * listenForStop (src/cli/stop-signals.ts) in real processes: a command in its own process group, every core
 * busy, its group signalled twice and once more while it cleans up. It must finish the cleanup and exit with the
 * first signal's code, run as the built JavaScript under plain node (how `netcheck` is installed) and through
 * tsx's loader (how `npm run cluster`, `npm run netcheck` and `npm run demo` run). The same commands with
 * `process.once` died at the second signal; test/e2e/cluster-signals.test.ts does this to `netcheck run` and the
 * real cluster.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { groupGone, signalGroupTwice, startCpuHogs } from './group-signal.js';

const root = join(import.meta.dirname, '..', '..');
const fixture = join(import.meta.dirname, 'stop-signals-fixture.mjs');
const builtHelper = join(root, 'dist', 'src', 'cli', 'stop-signals.js');

const launchers = [
  { name: 'plain node, the built JavaScript', argv: [fixture, pathToFileURL(builtHelper).href], skip: !existsSync(builtHelper) },
  { name: 'node --import tsx, the TypeScript source', argv: ['--import', 'tsx', fixture, pathToFileURL(join(root, 'src', 'cli', 'stop-signals.ts')).href], skip: false },
];
const cases = launchers.flatMap((launcher) => (['SIGTERM', 'SIGINT'] as const).map((signal) => ({ ...launcher, signal })));

describe('a stop asked for by a group signal survives the signals that follow', () => {
  it.each(cases)('$name, $signal twice and once more during the cleanup, every core busy', async ({ argv, skip, signal }) => {
    if (skip) throw new Error(`${builtHelper} is missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, argv, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const seen = (line: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => void (stdout.split('\n').some((l) => l.startsWith(line)) && resolve());
        child.stdout.on('data', check);
        child.on('close', () => reject(new Error(`exited before printing "${line}":\n${stdout}\n${stderr}`)));
        check();
      });
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
    await seen('ready');
    const hogs = startCpuHogs();
    try {
      await signalGroupTwice(child.pid as number, seen('stopping'), signal);
      const result = await exited;
      expect(result, stderr).toEqual({ code: signal === 'SIGINT' ? 130 : 143, signal: null });
    } finally {
      hogs.stop();
    }
    expect(stdout).toContain(`stopping ${signal}\n`);
    expect(stdout).toContain(`absorbed ${signal}\n`);
    expect(stdout).toMatch(/cleaned up\n$/);
    await groupGone(child.pid as number);
  });
});
