/**
 * The package as users get it: `npm pack`, then `npm install -g` of the tarball into a temporary prefix, then
 * `netcheck` and `kubectl netcheck` from that prefix's bin/, run from a directory outside the repository so nothing
 * can lean on the repo's layout. Needs the build (dist/).
 *
 * What npm does here, and why nothing has a fixed timeout of its own: `npm ci` cached the dependencies' tarballs
 * but not their registry metadata, and an install of a tarball resolves its ~100 dependencies from that metadata
 * (the package ships no lockfile): the first run on a machine fetches it from the registry, later ones take it from
 * the cache (--prefer-offline). Then it unpacks ~100 packages. No lifecycle script runs (no dependency of the
 * package has one; prepack only checks dist/), --no-audit skips the audit request. Measured with the machine at
 * load 20 on 2 cores: 13 s with the metadata cached, 21 s fetching it — and a CI runner busier still, or a slow
 * registry, takes longer. So every npm runs asynchronously, bounded by the hook's timeout alone: a slow install
 * is slow, not an ETIMEDOUT (a spawnSync with its own 120 s timeout killed it on a loaded runner, and blocked
 * this vitest worker meanwhile).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'netcheck-package-')));
const prefix = join(tmp, 'prefix');
const home = join(tmp, 'home');
const work = join(tmp, 'work');
const installed = join(prefix, 'lib', 'node_modules', 'kube-netcheck');
let packed: string[] = [];

// bin/ of the prefix first; node's own directory for the `#!/usr/bin/env node` line; kubectl from /usr/bin.
const env: Record<string, string> = {
  PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter),
  HOME: home,
  npm_config_update_notifier: 'false',
};

interface Exec {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end without blocking this worker (a spawnSync would freeze vitest while npm works). */
function exec(command: string, args: string[], cwd = work, childEnv: NodeJS.ProcessEnv = env): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'bin', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  mkdirSync(home);
  mkdirSync(work);
  const pack = await exec('npm', ['pack', '--json', '--pack-destination', tmp], root, process.env);
  expect(pack.status, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = info!.files.map((f) => f.path);
  // The user's npm cache (HOME is a fresh directory here, for kubectl): the tarballs `npm ci` fetched, and the
  // registry metadata an earlier run of this test fetched.
  const cache = (await exec('npm', ['config', 'get', 'cache'], root, process.env)).stdout.trim();
  Object.assign(env, { npm_config_cache: cache });
  const install = await exec('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(tmp, info!.filename)]);
  expect(install.status, install.stderr).toBe(0);
}, 300_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm pack', () => {
  it('holds the CLI, the probe agent, the built-in scenarios, the deploy manifests and the licence', () => {
    for (const file of ['dist/bin/main.js', 'dist/probes/agent.cjs', 'scenarios/financial-ml/scenario.yaml', 'scenarios/financial-ml/manifests/policies.yaml', 'deploy/rbac/clusterrole.yaml', 'LICENSE', 'README.md', 'package.json']) {
      expect(packed, file).toContain(file);
    }
  });

  it('holds no tests, TypeScript sources or source maps pointing at sources it does not ship', () => {
    expect(packed.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.endsWith('.map') || f.endsWith('.ts'))).toEqual([]);
  });
});

describe('npm install -g of the tarball', () => {
  it('netcheck --version', async () => {
    const r = await exec('netcheck', ['--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('0.1.0');
  });

  it("netcheck analyze --manifests the installed package's financial-ml manifests", async () => {
    const r = await exec('netcheck', ['analyze', '--manifests', join(installed, 'scenarios', 'financial-ml', 'manifests')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/financial-ml: .*financial-predictor/);
    expect(r.stdout).toMatch(/7 pods, 77 cells, \d+ allowed\./);
  });

  it('netcheck validate financial-ml finds the built-in scenario and its manifests in the installed package', async () => {
    const r = await exec('netcheck', ['validate', 'financial-ml']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^financial-ml: valid — 5 sources, 12 targets, 32 cells .* matches the manifests \(7 workloads, 7 services\)$/m);
  });

  it('the probe agent is found from where the installed bundle\'s chunks run', async () => {
    const chunks = join(installed, 'dist', 'bin', 'chunks');
    expect(existsSync(chunks)).toBe(true);
    // The same walk the bundled locateAgent does, started where its chunk sits in the installed package.
    const { locateAgent } = await import('../../src/probe/agent.js');
    expect(locateAgent(chunks)).toBe(join(installed, 'dist', 'probes', 'agent.cjs'));
    // The shipped bundle runs on its own, outside the repository (nothing it needs is left behind in probes/ or src/).
    const plan = JSON.stringify({ checks: [{ id: 'closed', kind: 'tcp', target: '127.0.0.1', port: 1, timeoutMs: 500 }], retries: 0 });
    const r = await exec(process.execPath, [locateAgent(chunks), 'run', plan]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\{"id":"closed","outcome":\{"kind":"refused"\}.*\n\{"done":true,"checks":1,/);
  });

  it('kubectl netcheck --help: kubectl finds the kubectl-netcheck plugin on PATH', async () => {
    const r = await exec('/usr/bin/kubectl', ['netcheck', '--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Does the network behave the way your NetworkPolicies say it should/);
    expect(r.stdout).toMatch(/^ {2}netcheck analyze /m);
    expect(r.stdout).toMatch(/^ {2}netcheck run <scenario> /m);
  });
});
