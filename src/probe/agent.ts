/**
 * netcheck's side of the in-pod agent: its bundled source for container args, the args themselves, a parser for its
 * stdout, and a local runner for `runner`-side checks (LoadBalancers from the CI machine). The agent's source is
 * probes/ (TypeScript); the build bundles it into one CommonJS file, dist/probes/agent.cjs, so any image with `node`
 * runs it from the pod's args. This module never imports the agent: it only reads and spawns the bundle.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { InternalError, ProbeError } from '../model/errors.js';
import {
  isOutcomeKind,
  type AgentCheckResult,
  type AgentPlan,
  type ListenerPlan,
  type Outcome,
  type ResolvConf,
} from '../model/outcome.js';

/** Where the build puts the bundled agent, below the package root. */
const AGENT_BUNDLE = join('dist', 'probes', 'agent.cjs');

let cachedPath: string | undefined;
let cachedSource: string | undefined;

/**
 * The bundled agent, dist/probes/agent.cjs below the package root; this module runs from src/probe/ (tsx),
 * dist/src/probe/ or the CLI bundle's chunks in dist/bin/ (built), so walk up until it appears rather than
 * hard-coding the depth. `from` starts the walk elsewhere (a test checks an installed package's layout with it);
 * without it the answer is cached.
 */
export function locateAgent(from?: string): string {
  if (from === undefined && cachedPath !== undefined) return cachedPath;
  const start = from ?? dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, AGENT_BUNDLE);
    if (existsSync(candidate)) return from === undefined ? (cachedPath = candidate) : candidate;
    dir = dirname(dir);
  }
  throw new InternalError(`${AGENT_BUNDLE} not found above ${start}`, {
    hint: 'in a checkout, run `npm run build` (it bundles probes/agent.ts); a package must ship dist/probes/',
  });
}

/** The bundled agent's source as it travels in every probe pod's container args, read once (minified at build). */
export function agentSource(): string {
  cachedSource ??= readFileSync(locateAgent(), 'utf8');
  return cachedSource;
}

/** Args for a container with `command: ['node']` that runs the plan and exits. */
export function agentRunArgs(plan: AgentPlan): string[] {
  return ['-e', agentSource(), 'run', JSON.stringify(plan)];
}

/** Args for a container with `command: ['node']` that serves the listener plan until killed. */
export function agentListenArgs(plan: ListenerPlan): string[] {
  return ['-e', agentSource(), 'listen', JSON.stringify(plan)];
}

export interface AgentOutput {
  results: AgentCheckResult[];
  /** The agent printed its final `{"done":true}` line: the plan ran to the end. */
  done: boolean;
  /** Lines that are not agent results (junk, truncated JSON, `{"error":...}`), described for a human. */
  problems: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOutcome(value: unknown): value is Outcome {
  if (!isRecord(value) || !isOutcomeKind(value.kind)) return false;
  if (value.kind === 'http') return typeof value.status === 'number';
  if (value.kind === 'resolved') {
    return Array.isArray(value.addresses) && value.addresses.every((a) => typeof a === 'string');
  }
  if (value.kind === 'error') return typeof value.message === 'string';
  if (value.kind === 'unreachable') return value.code === undefined || typeof value.code === 'string';
  return true;
}

function isCheckResult(value: Record<string, unknown>): value is Record<string, unknown> & AgentCheckResult {
  return (
    typeof value.id === 'string' &&
    isOutcome(value.outcome) &&
    Array.isArray(value.attempts) &&
    value.attempts.length > 0 &&
    value.attempts.every(
      (a) =>
        isRecord(a) &&
        isOutcome(a.outcome) &&
        typeof a.ms === 'number' &&
        (a.address === undefined || typeof a.address === 'string'),
    )
  );
}

/** A `resolv` check's file, when well formed (src/model/outcome.ts ResolvConf). */
function resolvConfOf(value: unknown): ResolvConf | undefined {
  if (!isRecord(value)) return undefined;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (!strings(value.nameservers) || !strings(value.search) || typeof value.ndots !== 'number') return undefined;
  return { nameservers: value.nameservers, search: value.search, ndots: value.ndots, options: strings(value.options) ? value.options : [] };
}

/** The one attempt at a check's `fallback` address (the Service's ClusterIP), when well formed. */
function fallbackOf(value: unknown): AgentCheckResult['fallback'] {
  if (!isRecord(value) || typeof value.target !== 'string' || !isOutcome(value.outcome) || typeof value.ms !== 'number') return undefined;
  return { target: value.target, outcome: value.outcome, ms: value.ms };
}

function describeLine(line: string): string {
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/**
 * Parse the agent's stdout (a pod log, or a local child's output). Pure. Junk lines - a runtime warning,
 * a truncated log tail - are reported in `problems`, never thrown: the results that did arrive still count.
 */
export function parseAgentOutput(stdout: string): AgentOutput {
  const results: AgentCheckResult[] = [];
  const problems: string[] = [];
  let done = false;
  for (const [index, raw] of stdout.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${index + 1}: not JSON: ${describeLine(line)}`);
      continue;
    }
    if (!isRecord(value)) {
      problems.push(`line ${index + 1}: not a JSON object: ${describeLine(line)}`);
    } else if (value.done === true) {
      done = true;
    } else if (typeof value.error === 'string') {
      problems.push(`line ${index + 1}: agent error: ${value.error}`);
    } else if (isCheckResult(value)) {
      const resolv = resolvConfOf(value.resolv);
      const fallback = fallbackOf(value.fallback);
      results.push({ id: value.id, outcome: value.outcome, attempts: value.attempts, ...(resolv ? { resolv } : {}), ...(fallback ? { fallback } : {}) });
    } else {
      problems.push(`line ${index + 1}: not an agent result: ${describeLine(line)}`);
    }
  }
  return { results, done, problems };
}

/**
 * The listener agent printed its `{"listening":[...]}` line: every port is bound. A container is Ready as soon as it
 * runs (listeners have no readiness probe: the kubelet's own check could fail on the very data-plane fault a run
 * diagnoses), which is before node has parsed the agent; a check sent then is refused by the kernel, not the policy.
 */
export function listenerIsListening(stdout: string): boolean {
  return stdout.split('\n').some((line) => {
    if (!line.includes('"listening"')) return false;
    try {
      const value: unknown = JSON.parse(line);
      return isRecord(value) && Array.isArray(value.listening);
    } catch {
      return false; // a line still being written
    }
  });
}

export interface RunAgentLocallyOptions {
  signal: AbortSignal;
  /** Run inside this network namespace (`ip netns exec`), e.g. a test cluster's outside host. Needs root. */
  netns?: string;
}

/**
 * Run a plan with the agent on this machine (the `runner` source). Resolves with one result per check,
 * in plan order; a check the agent did not report becomes an `error` outcome. Aborting kills the agent.
 */
export function runAgentLocally(plan: AgentPlan, options: RunAgentLocallyOptions): Promise<AgentCheckResult[]> {
  const nodeArgs = [locateAgent(), 'run', JSON.stringify(plan)];
  const [command, args] = options.netns === undefined
    ? [process.execPath, nodeArgs]
    : ['ip', ['netns', 'exec', options.netns, process.execPath, ...nodeArgs]];
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      reject(options.signal.reason);
      return;
    }
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const onAbort = (): void => {
      child.kill('SIGKILL');
      reject(options.signal.reason);
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      options.signal.removeEventListener('abort', onAbort);
      reject(new ProbeError(`cannot start the local agent: ${err.message}`, { reason: 'agent-spawn' }, { cause: err }));
    });
    child.on('close', (code, killedBy) => {
      options.signal.removeEventListener('abort', onAbort);
      if (options.signal.aborted) return;
      const output = parseAgentOutput(Buffer.concat(stdout).toString('utf8'));
      const errText = Buffer.concat(stderr).toString('utf8').trim();
      if (code === 2) {
        reject(new InternalError(`the local agent rejected its plan: ${errText || output.problems.join('; ')}`));
      } else if (code !== 0 || !output.done) {
        const why = killedBy === null ? `exit code ${code}` : `signal ${killedBy}`;
        reject(
          new ProbeError(`the local agent failed (${why}): ${errText || output.problems.join('; ') || 'no output'}`, {
            reason: 'agent-failed',
          }),
        );
      } else {
        resolve(orderResults(plan, output.results));
      }
    });
  });
}

function orderResults(plan: AgentPlan, results: AgentCheckResult[]): AgentCheckResult[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return plan.checks.map((check) => {
    const found = byId.get(check.id);
    if (found !== undefined) return found;
    const outcome: Outcome = { kind: 'error', message: 'the agent reported no result for this check' };
    return { id: check.id, outcome, attempts: [{ outcome, ms: 0 }] };
  });
}
