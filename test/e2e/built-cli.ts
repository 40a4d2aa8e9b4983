/**
 * Shared by the e2e files that run the BUILT CLI (npm run build first) as a subprocess inside an outside host: where the build is, whether it exists, how to run it, and which netcheck pods are left.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ClusterClient, PodState } from '../../src/cluster/types.js';
import { anyRunSelector } from '../../src/probe/pod-spec.js';

/** The shipped entry point (package.json bin): the esbuild bundle of src/cli/main.ts. */
export const MAIN = 'dist/bin/main.js';
export const MANIFESTS = 'scenarios/financial-ml/manifests';
export const built = existsSync(MAIN);
if (!built) console.warn(`e2e: skipped — ${MAIN} is missing; run \`npm run build\` (npm test does)`);

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunBuiltCliOptions {
  /** Called once the child is spawned, with its PID. */
  onSpawn?: (pid: number) => void;
  /** Called on every stderr chunk with ALL the stderr read so far (not just the chunk) and the child's PID. */
  onStderr?: (stderr: string, pid: number) => void;
}

/** Where the CLI runs: the real cluster's outside host (the machine netcheck runs on). */
export interface OutsideHost {
  outsideHostArgv(argv: string[]): string[];
}

/**
 * Runs `node MAIN ...argv` inside the outside host. The caller passes every CLI argument, including
 * `--kubeconfig`. Async, so that the test process keeps serving its callbacks while the CLI runs.
 */
export function runBuiltCli(host: OutsideHost, argv: string[], options: RunBuiltCliOptions = {}): Promise<CliRun> {
  const command = host.outsideHostArgv(['node', MAIN, ...argv]);
  return new Promise((resolve) => {
    const child = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child.pid as number);
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onSpawn?.(child.pid as number);
  });
}

/** Netcheck pods (any run) that are not being deleted. */
export async function netcheckPods(client: ClusterClient): Promise<PodState[]> {
  return (await client.listPods(undefined, anyRunSelector)).filter((p) => !p.deleting);
}

/** Netcheck pods (any run) that are not being deleted, as `namespace/name`. */
export async function netcheckPodsLeft(client: ClusterClient): Promise<string[]> {
  return (await netcheckPods(client)).map((p) => `${p.namespace}/${p.name}`);
}

/** Tags open and close in order (a tiny well-formedness check: no parser dependency). */
export function isBalancedXml(xml: string): boolean {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (selfClose) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name as string);
  }
  const stripped = body.replace(/<[^>]*>/g, '');
  return stack.length === 0 && !/[<>]/.test(stripped) && !/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(stripped);
}

export function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/**
 * xmllint's complaints about a JUnit report against the Jenkins JUnit schema (test/fixtures/junit: what CI servers
 * read); empty when it validates. Needs xmllint (Debian libxml2-utils; .ci/run installs it).
 */
export function junitSchemaErrors(file: string): string {
  try {
    execFileSync('xmllint', ['--noout', '--schema', 'test/fixtures/junit/junit-10.xsd', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    return '';
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error);
  }
}

/** Polls until `check` returns a value (not undefined; a throw counts as not yet); gives up after `tries` polls. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, tries: number, everyMs = 500): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`${what}: not reached after ${tries} polls`);
}
