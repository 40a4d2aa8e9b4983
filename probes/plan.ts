/** The agent's command-line JSON: a run plan or a listener plan, checked before anything runs (exit 2 otherwise). */
import type { ListenerPlan } from '../src/model/outcome.js';
import type { PlannedCheck } from './check.js';

/** A run plan whose checks each have a distinct id; each check's other fields are checked when it runs. */
export interface ParsedPlan {
  checks: PlannedCheck[];
  retries: number;
  settleMs: number;
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(value) || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function nonNegativeInteger(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || (value as number) < 0) throw new Error(`${name} must be a non-negative integer`);
  return value as number;
}

export function parsePlan(text: string): ParsedPlan {
  const plan = parseJsonObject(text, 'plan');
  if (!Array.isArray(plan.checks)) throw new Error('plan.checks must be an array');
  const retries = nonNegativeInteger(plan.retries, 'plan.retries');
  const ids = new Set<string>();
  for (const [i, check] of (plan.checks as unknown[]).entries()) {
    if (!isRecord(check) || typeof check.id !== 'string' || check.id === '') {
      throw new Error(`plan.checks[${i}] needs a string id`);
    }
    if (ids.has(check.id)) throw new Error(`plan.checks[${i}]: duplicate id ${check.id}`);
    ids.add(check.id);
  }
  const settleMs = nonNegativeInteger(plan.settleMs, 'plan.settleMs');
  return { checks: plan.checks as PlannedCheck[], retries, settleMs };
}

export function parseListenerPlan(text: string): ListenerPlan {
  const plan = parseJsonObject(text, 'listener plan');
  if (!Array.isArray(plan.listen) || plan.listen.length === 0) {
    throw new Error('listener plan.listen must be a non-empty array');
  }
  const listen: unknown[] = plan.listen;
  for (const [i, l] of listen.entries()) {
    if (!isRecord(l) || !Number.isInteger(l.port) || (l.port as number) < 1 || (l.port as number) > 65535) {
      throw new Error(`listen[${i}].port must be an integer 1-65535`);
    }
    if (l.protocol !== 'TCP' && l.protocol !== 'UDP') throw new Error(`listen[${i}].protocol must be TCP or UDP`);
  }
  return { listen: (listen as ListenerPlan['listen']).map((l) => ({ port: l.port, protocol: l.protocol })) };
}
