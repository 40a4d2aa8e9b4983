/**
 * Start-up: --help, --version and the offline commands never load the cluster code (@kubernetes/client-node,
 * listr2), which costs ~0.8 s to import. Proved on the built CLI with a module-loader hook that records every
 * module Node loads (record-imports-hook.mjs), not by timing. A run that reaches the cluster must load it: that
 * case shows the hook sees the packages at all.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
// The shipped entry point: the bundle (package.json bin), whose lazily loaded parts are chunks of their own.
const cli = join(root, 'dist', 'bin', 'main.js');
const hook = pathToFileURL(join(import.meta.dirname, 'record-imports-hook.mjs')).href;
const M = 'scenarios/financial-ml/manifests';
const tmp = mkdtempSync(join(tmpdir(), 'netcheck-startup-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CLUSTER_PACKAGES = /\/node_modules\/(@kubernetes\/client-node|listr2)\//;
/** The bundle's chunks of netcheck's own cluster code (src/cluster/client.ts, src/run/run-scenario.ts, the progress display). */
const CLUSTER_CHUNKS = /\/dist\/bin\/chunks\/(client|run-scenario|progress)-[A-Z0-9]+\.js$/;

let runs = 0;
/** The exit code and the URLs of every module the command loaded. */
function loadedModules(args: string[]): { code: number | null; stderr: string; urls: string[] } {
  const log = join(tmp, `imports-${runs++}.log`);
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(hook)})`, cli, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NETCHECK_IMPORT_LOG: log, KUBECONFIG: join(tmp, 'no-kubeconfig') },
  });
  let urls: string[] = [];
  try {
    urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    // No log: the hook never ran; the length check below says so.
  }
  return { code: r.status, stderr: r.stderr, urls };
}

describe('start-up loads no cluster code outside the commands that talk to a cluster', () => {
  it.each([
    { args: ['--version'], code: 0 },
    { args: ['--help'], code: 0 },
    { args: ['run', '--help'], code: 0 },
    { args: ['cleanup', '--help'], code: 0 },
    { args: ['analyze', '--manifests', M], code: 0 },
    { args: ['validate', 'financial-ml'], code: 0 },
    { args: ['lint', '--manifests', M], code: 0 },
    { args: ['explain', '--manifests', M, '--from', 'financial-ml/financial-predictor', '--to', 'financial-ml/financial-predictor', '--port', '8080'], code: 0 },
    // Bad input to run is found before the cluster code is needed.
    { args: ['run', 'financial-ml', '--budget', 'soon'], code: 2 },
    { args: ['watch', '--help'], code: 0 },
    { args: ['watch', 'financial-ml', '--every', 'soon'], code: 2 },
  ])('netcheck $args', ({ args, code }) => {
    const r = loadedModules(args);
    expect(r.code, r.stderr).toBe(code);
    expect(r.urls.some((u) => u.endsWith('/dist/bin/main.js'))).toBe(true);
    expect(r.urls.filter((u) => CLUSTER_PACKAGES.test(u) || CLUSTER_CHUNKS.test(u))).toEqual([]);
  });

  it.each([['run', 'financial-ml'], ['financial-ml'], ['cleanup']])('netcheck %s … loads it (and fails on the missing kubeconfig)', (...args) => {
    const r = loadedModules(args);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.urls.some((u) => /\/node_modules\/@kubernetes\/client-node\//.test(u))).toBe(true);
    expect(r.urls.some((u) => CLUSTER_CHUNKS.test(u))).toBe(true);
  });
});
