/**
 * `npm run netcheck -- ARGS`: the built netcheck, run inside the outside host of the cluster that
 * `npm run cluster -- up` keeps running, with its kubeconfig and, for `run`, its local probe image.
 *
 * Why not plain `npx netcheck` from the shell: the API server answers in the root network namespace too, so a
 * run from there would look fine — but its runner-side checks would send the seed's LoadBalancer traffic
 * (192.168.1.x) out of this machine's real default route. netcheck cannot know which addresses its host routes
 * into a cluster; the outside host is the one place where those addresses are the cluster's, so this wrapper
 * makes the safe path the easy one.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from './processes.js';

/** What an `up` command leaves in its temp dir once ready, for this wrapper. */
export interface Session {
  kubeconfig: string;
  outsideHost: string;
  /** An image the nodes hold, for probe pods (the cluster kit has no registry). */
  probeImage: string;
  /** The `up` process: the session is live while it is. */
  owner: number;
}

const SESSION_FILE = 'session.json';
const SESSION_DIR_PREFIX = 'netcheck-cluster-';
const MAIN = fileURLToPath(new URL('../../dist/bin/main.js', import.meta.url));
/** netcheck's commands that never start probe pods, so take no --image. */
const OFFLINE_COMMANDS = new Set(['analyze', 'explain', 'lint', 'validate', 'check', 'cleanup']);

export function writeSession(dir: string, session: Omit<Session, 'owner'>): void {
  writeFileSync(join(dir, SESSION_FILE), JSON.stringify({ ...session, owner: process.pid } satisfies Session));
}

/** Sessions whose `up` process is still running, with their directories. */
export function liveSessions(root = tmpdir()): Array<Session & { dir: string }> {
  return readdirSync(root)
    .filter((entry) => entry.startsWith(SESSION_DIR_PREFIX))
    .flatMap((entry) => {
      const file = join(root, entry, SESSION_FILE);
      if (!existsSync(file)) return [];
      try {
        const session = JSON.parse(readFileSync(file, 'utf8')) as Session;
        return isProcessAlive(session.owner) ? [{ ...session, dir: join(root, entry) }] : [];
      } catch {
        return [];
      }
    });
}

/** The argv that runs netcheck with `args` inside the session's outside host. */
export function outsideHostNetcheckArgv(session: Session, args: readonly string[]): string[] {
  const first = args.find((a) => !a.startsWith('-'));
  const probes = first !== undefined && !OFFLINE_COMMANDS.has(first);
  const image = probes && !args.some((a) => a === '--image' || a.startsWith('--image=')) ? ['--image', session.probeImage] : [];
  return ['nsenter', `--net=/run/netns/${session.outsideHost}`, process.execPath, MAIN, ...args, ...image];
}

function fail(message: string): never {
  process.stderr.write(`netcheck (outside host): ${message}\n`);
  process.exit(2);
}

async function main(args: string[]): Promise<number> {
  if (!existsSync(MAIN)) fail('netcheck is not built: run `npm run build` first');
  const sessions = liveSessions();
  const wanted = process.env['NETCHECK_CLUSTER_DIR'];
  const chosen = wanted !== undefined ? sessions.filter((s) => s.dir === wanted) : sessions;
  if (chosen.length === 0) {
    fail(wanted !== undefined ? `no running cluster in ${wanted}` : 'no cluster is up: start one with `npm run cluster -- up --manifests scenarios/financial-ml/manifests` (in another terminal)');
  }
  if (chosen.length > 1) fail(`${chosen.length} clusters are up (${chosen.map((s) => s.dir).join(', ')}): pick one with NETCHECK_CLUSTER_DIR=DIR`);
  const session = chosen[0]!;
  const argv = outsideHostNetcheckArgv(session, args);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, KUBECONFIG: session.kubeconfig } });
  // netcheck deletes its pods on SIGINT/SIGTERM: pass them on rather than die first.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 143))));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
