/**
 * netcheck probe agent: Node built-ins and src/model only. The build bundles it into one CommonJS file
 * (dist/probes/agent.cjs) that travels in a probe pod's container args (`node -e <source> run '<plan>'`), so any
 * image with `node` runs it; netcheck also runs that file itself for `runner`-side checks. Wire types:
 * src/model/outcome.ts.
 *   run '<AgentPlan>'       one JSON line per check as it completes, then {"done":true,"checks":N,"ms":T}
 *   listen '<ListenerPlan>' TCP (HTTP 200, plain TCP accepted) and UDP echo until SIGTERM
 * Exit: 0 the plan ran (whatever the outcomes), 2 malformed plan, 1 a listener could not bind.
 * The choices behind each outcome are written where they are made: dns.ts, connect.ts, check.ts.
 */
import { hostname } from 'node:os';

import { runCheck, sleep } from './check.js';
import { serve } from './listen.js';
import { parseListenerPlan, parsePlan } from './plan.js';

function emit(value: unknown, callback?: () => void): void {
  process.stdout.write(`${JSON.stringify(value)}\n`, callback);
}

function failUsage(message: string): void {
  process.stderr.write(`netcheck agent: ${message}\n`);
  emit({ error: message });
  process.exitCode = 2;
}

/** The parsed plan, or undefined once its problem is reported (exit 2). */
function parseOrFail<T>(parse: (text: string) => T, text: string): T | undefined {
  try {
    return parse(text);
  } catch (err) {
    failUsage((err as Error).message);
    return undefined;
  }
}

async function runPlan(text: string): Promise<void> {
  const plan = parseOrFail(parsePlan, text);
  if (plan === undefined) return;
  await sleep(plan.settleMs);
  const start = Date.now();
  await Promise.all(plan.checks.map(async (check) => emit(await runCheck(check, plan.retries))));
  // Exit explicitly: a straggling socket must not keep a probe pod alive after its plan ran.
  emit({ done: true, checks: plan.checks.length, ms: Date.now() - start }, () => process.exit(0));
}

async function listen(text: string): Promise<void> {
  const plan = parseOrFail(parseListenerPlan, text);
  if (plan === undefined) return;
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0)); // PID 1 has no default handler
  try {
    await serve(plan, process.env.POD_NAME || hostname());
  } catch (err) {
    const message = `cannot listen: ${(err as Error).message}`;
    process.stderr.write(`netcheck agent: ${message}\n`);
    emit({ error: message }, () => process.exit(1));
    return;
  }
  emit({ listening: plan.listen });
}

function main(args: string[]): Promise<void> | void {
  const [mode, plan] = args;
  if (mode === 'run' && plan !== undefined) return runPlan(plan);
  if (mode === 'listen' && plan !== undefined) return listen(plan);
  return failUsage("usage: agent.cjs run '<plan json>' | listen '<listener plan json>'");
}

// Under `node -e <source>` (a probe pod) argv holds no script: [node, mode, plan]; as a file: [node, file, mode, plan].
const evaluated = process.execArgv.some((flag) => flag === '-e' || flag === '--eval');
void main(process.argv.slice(evaluated ? 1 : 2));
