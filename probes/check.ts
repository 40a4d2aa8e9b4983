/**
 * One check of a plan, with its retries: when `expect` disagrees with the outcome (agreesWithExpectation), the check
 * runs again, up to `retries` times, attempts >= 1 s apart; every attempt is reported. A name that does not resolve
 * gives the dns-* outcome for tcp/http/udp too, never "blocked"; resolution and connection each get timeoutMs, so
 * slow DNS never becomes `timeout`.
 */
import { isIP } from 'node:net';

import {
  AGENT_CHECK_KINDS,
  agreesWithExpectation,
  type AgentCheck,
  type AgentCheckResult,
  type Attempt,
  type Outcome,
  type ResolvConf,
} from '../src/model/outcome.js';
import { connectTcp, getHttp, probeUdp } from './connect.js';
import { dnsOutcome, resolveName } from './dns.js';
import { readResolvConf } from './resolv-conf.js';

/** A check as it arrived in the plan: an object with an id, the rest not yet validated. */
export type PlannedCheck = Record<string, unknown> & { id: string };

const checkKinds: ReadonlySet<unknown> = new Set(AGENT_CHECK_KINDS);

/** What is wrong with a planned check, or undefined when it is a well-formed AgentCheck. */
export function checkProblem(check: PlannedCheck): string | undefined {
  if (!checkKinds.has(check.kind)) return `kind must be one of ${AGENT_CHECK_KINDS.join(', ')}`;
  if (typeof check.target !== 'string' || check.target === '') return 'target must be a non-empty string';
  if (typeof check.timeoutMs !== 'number' || !(check.timeoutMs > 0) || !Number.isFinite(check.timeoutMs)) {
    return 'timeoutMs must be a positive number';
  }
  const portless = check.kind === 'dns' || check.kind === 'resolv';
  const port = check.port;
  if (!portless && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) {
    return 'port must be an integer 1-65535';
  }
  /** An optional field: absent, or valid. */
  const optional = (value: unknown, valid: (value: unknown) => boolean): boolean => value === undefined || valid(value);
  if (!optional(check.protocol, (p) => p === 'TCP' || p === 'UDP')) return 'protocol must be TCP or UDP';
  if (!optional(check.expect, (e) => e === 'allow' || e === 'deny')) return 'expect must be allow or deny';
  if (!optional(check.fallback, (f) => typeof f === 'string' && isIP(f) !== 0)) return 'fallback must be an IP address';
  const dnsServer = (s: unknown): boolean => check.kind === 'dns' && isIP(String(s)) !== 0;
  if (!optional(check.server, dnsServer)) return 'server: an IP, dns checks only';
  const http = check.http;
  const path = typeof http === 'object' && http !== null ? (http as { path?: unknown }).path : undefined;
  if (http !== undefined && !(typeof path === 'string' && path.startsWith('/'))) return 'http.path must start with /';
  return undefined;
}

interface AttemptResult {
  outcome: Outcome;
  /** The address a target name resolved to. */
  address?: string;
  /** A `resolv` check's file. */
  resolv?: ResolvConf;
}

async function attemptCheck(check: AgentCheck): Promise<AttemptResult> {
  if (check.kind === 'resolv') {
    const { found, ...resolv } = readResolvConf();
    const outcome: Outcome = found
      ? { kind: 'resolved', addresses: resolv.nameservers }
      : { kind: 'error', message: 'no /etc/resolv.conf' };
    return { outcome, resolv };
  }
  const named = !isIP(check.target);
  const protocol = check.kind === 'dns' ? (check.protocol ?? 'UDP') : 'UDP';
  const resolved = await resolveName(check.target, protocol, check.timeoutMs, check.server);
  if (!('addresses' in resolved)) return { outcome: dnsOutcome(resolved, check.kind) };
  const address = resolved.addresses[0]!;
  const withAddress = (outcome: Outcome): AttemptResult => (named ? { outcome, address } : { outcome });
  const port = check.port!; // checkProblem: every kind but dns and resolv has one
  switch (check.kind) {
    case 'dns':
      return withAddress({ kind: 'resolved', addresses: resolved.addresses });
    case 'tcp':
      return withAddress(await connectTcp(address, port, check.timeoutMs));
    case 'http':
      return withAddress(await getHttp(address, port, check.target, check.http?.path || '/', check.timeoutMs));
    case 'udp':
      return withAddress(await probeUdp(address, port, check.timeoutMs));
  }
}

function attemptSafely(check: AgentCheck): Promise<AttemptResult> {
  return attemptCheck(check).catch((err: unknown) => {
    const outcome: Outcome = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
    return { outcome };
  });
}

const RETRY_SPACING_MS = 1000;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one planned check to its result line; a malformed check becomes an `error` outcome, never a throw. */
export async function runCheck(planned: PlannedCheck, retries: number): Promise<AgentCheckResult> {
  const problem = checkProblem(planned);
  if (problem) {
    const outcome: Outcome = { kind: 'error', message: `bad check: ${problem}` };
    return { id: planned.id, outcome, attempts: [{ outcome, ms: 0 }] };
  }
  const check = planned as unknown as AgentCheck; // checkProblem found nothing wrong
  const attempts: Attempt[] = [];
  for (let i = 0; i <= retries; i++) {
    const start = Date.now();
    const result = await attemptSafely(check);
    const ms = Date.now() - start;
    attempts.push({ outcome: result.outcome, ms, address: result.address });
    if (result.resolv) return { id: check.id, outcome: result.outcome, attempts, resolv: result.resolv };
    if (!check.expect || agreesWithExpectation(check.expect, result.outcome)) break;
    if (i < retries && ms < RETRY_SPACING_MS) await sleep(RETRY_SPACING_MS - ms);
  }
  const outcome = attempts[attempts.length - 1]!.outcome;
  // Name did not resolve: one try at check.fallback (the ClusterIP) says if the path is open.
  if (check.fallback && check.kind !== 'dns' && outcome.kind.startsWith('dns-')) {
    const start = Date.now();
    const tried = await attemptSafely({ ...check, target: check.fallback });
    const fallback = { target: check.fallback, outcome: tried.outcome, ms: Date.now() - start };
    return { id: check.id, outcome, attempts, fallback };
  }
  return { id: check.id, outcome, attempts };
}
