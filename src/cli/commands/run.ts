/**
 * `netcheck run SCENARIO`: probe the cluster against the scenario's expected matrix and report.
 * Also the on-call shorthand `netcheck financial-ml` (a built-in scenario by name).
 * Exit codes: EXIT_CODES below (also in --help and README). Every requested report is written whatever the exit.
 */
import type { Argv } from 'yargs';
import { ExitCode, NetcheckError, UsageError } from '../../model/errors.js';
import type { RunResult } from '../../model/verdict.js';
import { DEFAULT_PROBE_IMAGE, newRunId } from '../../probe/pod-spec.js';
import { DEFAULT_SETTLE_MS } from '../../run/plan.js';
import type { NodeSelection } from '../../run/probe-nodes.js';
import type { RunDeps } from '../../run/run-scenario.js';
import { runExitCode } from '../../run/verdict.js';
import { listBuiltinScenarios } from '../../scenario/builtins.js';
import { findNearestName } from '../../scenario/nearest-name.js';
import { selectScenario } from '../../scenario/select.js';
import type { Scenario } from '../../scenario/types.js';
import { checkIp, parseDurationMs } from '../../scenario/values.js';
import { COMMANDS, SCENARIO_POSITIONAL } from './catalog.js';
import { defineCommand, formatError } from '../command.js';
import { keepingHint } from '../flag-check.js';
import type { OutputSpec } from '../reports.js';
import { listenForStop } from '../stop-signals.js';

/**
 * The code that talks to a cluster (@kubernetes/client-node, listr2) loads when a run starts, not with the CLI:
 * importing it takes ~0.8 s that --help, --version and the offline commands must not pay
 * (test/cli/startup-imports.test.ts proves they never load it).
 */
async function loadClusterCode() {
  const [client, run, progress] = await Promise.all([import('../../cluster/client.js'), import('../../run/run-scenario.js'), import('../progress.js')]);
  return { ...client, ...run, ...progress };
}

/** Reports and the scenario loader (YAML, the renderers) are loaded when a run starts too, not with the CLI. */
async function loadRunInputs() {
  const [reports, load] = await Promise.all([import('../reports.js'), import('../../scenario/load.js')]);
  return { ...reports, ...load };
}

/** The contract CI relies on; the order is the precedence when several apply. */
const EXIT_CODES =
  'exit: 0 pass (known gaps allowed) · 1 policy regression: intent and policies disagree · 2 bad input · ' +
  '3 infrastructure: some check could not run (cluster, probe pods, budget) · 4 environment fault only: the policies ' +
  'agree with the intent, the cluster does not (CNI not enforcing, broken node, no endpoints, DNS) · 130/143 signal. ' +
  'Reports are written on every exit; a check that could not run is marked so, with the reason.';

export interface RunArgs {
  scenario: string;
  kubeconfig?: string;
  context?: string;
  output?: string[];
  timeout?: string;
  budget: string;
  retries?: number;
  settle?: string;
  perNode?: boolean;
  nodes?: string;
  nodeSelector?: string;
  includeCordoned?: boolean;
  image?: string;
  imagePullSecret?: string;
  progress?: boolean;
  append?: boolean;
  runnerAddress?: string;
  from?: string[];
  to?: string[];
  failuresOnly?: boolean;
  showKnown?: boolean;
  showCells?: boolean;
  inPod?: boolean;
  node?: string;
}

export function duration(flag: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new UsageError(`--${flag} ${value}: not a positive duration`, { hint: 'e.g. 500ms, 2s, 1m30s, 1h' });
  return ms;
}

function withoutStdoutTable(outputs: readonly OutputSpec[]): OutputSpec[] {
  return outputs.filter((o) => !(o.format === 'table' && o.file === undefined));
}

/** `--nodes`, `--node-selector`, `--include-cordoned`: which nodes a per-node run probes from. */
function parseNodeSelection(argv: Pick<RunArgs, 'nodes' | 'nodeSelector' | 'includeCordoned'>): NodeSelection {
  const list = (flag: string, value: string): string[] => {
    const items = value.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw new UsageError(`--${flag} ${value}: an empty item`, { hint: `e.g. --${flag} ${flag === 'nodes' ? 'node-a,node-b' : 'key=value,key2=value2'}` });
    return items;
  };
  const selection: NodeSelection = {};
  if (argv.nodes !== undefined) selection.names = list('nodes', argv.nodes);
  if (argv.nodeSelector !== undefined) {
    selection.selector = Object.fromEntries(
      list('node-selector', argv.nodeSelector).map((item) => {
        const eq = item.indexOf('=');
        if (eq <= 0) throw new UsageError(`--node-selector ${argv.nodeSelector}: "${item}" is not key=value`, { hint: 'e.g. --node-selector projectcalico.org/node-network-during-migration=calico' });
        return [item.slice(0, eq), item.slice(eq + 1)];
      }),
    );
  }
  if (argv.includeCordoned === true) selection.includeCordoned = true;
  return selection;
}

/** What runScenario takes from the flags of a command that probes (`run`, the shorthand, `snapshot`, `watch`). */
export type ProbeRunOptions = Pick<RunDeps, 'budgetMs' | 'timeoutMs' | 'retries' | 'settleMs' | 'perNode' | 'nodeSelection' | 'image' | 'imagePullSecret' | 'runnerAddress' | 'inPod' | 'inPodNode'>;

/** The probing flags (buildProbeOptions), checked before anything runs: a bad one is bad input naming the flag. */
export function probeSettings(argv: Omit<RunArgs, 'scenario'>): { perNode: boolean; options: ProbeRunOptions } {
  const nodeSelection = parseNodeSelection(argv);
  const perNode = argv.perNode === true || nodeSelection.names !== undefined || nodeSelection.selector !== undefined;
  const timeoutMs = argv.timeout === undefined ? undefined : duration('timeout', argv.timeout);
  const budgetMs = duration('budget', argv.budget);
  const settleMs = argv.settle === undefined ? undefined : /^0+(ms|s)?$/.test(argv.settle.trim()) ? 0 : duration('settle', argv.settle);
  const runnerAddressProblem = argv.runnerAddress === undefined ? undefined : checkIp(argv.runnerAddress);
  if (runnerAddressProblem !== undefined) {
    throw new UsageError(`--runner-address ${argv.runnerAddress}: ${runnerAddressProblem}`, { hint: 'give the one address the cluster sees the runner as, e.g. --runner-address 198.51.100.7' });
  }
  return {
    perNode,
    options: {
      budgetMs,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(argv.retries !== undefined ? { retries: argv.retries } : {}),
      ...(settleMs !== undefined ? { settleMs } : {}),
      ...(perNode ? { perNode: true, nodeSelection } : {}),
      ...(argv.image !== undefined ? { image: argv.image } : {}),
      ...(argv.imagePullSecret !== undefined ? { imagePullSecret: argv.imagePullSecret } : {}),
      ...(argv.runnerAddress !== undefined ? { runnerAddress: argv.runnerAddress } : {}),
      ...(argv.inPod === true || argv.node !== undefined ? { inPod: true } : {}),
      ...(argv.node !== undefined ? { inPodNode: argv.node } : {}),
    },
  };
}

/** `--retries` as yargs' number type would read `x` as NaN and lose what the user typed. */
function parseRetries(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--retries ${value}: must be a whole number ≥ 0`, { hint: 'e.g. --retries 2' });
  return Number(value);
}

export function buildRunOptions<T>(yargs: Argv<T>) {
  return buildProbeOptions(yargs)
    .option('output', {
      alias: 'o',
      type: 'string',
      array: true,
      nargs: 1,
      describe:
        'report: table | json | markdown [=FILE], junit=FILE, snapshot=FILE (for `netcheck diff`); repeatable, at most one on stdout ' +
        '(default: table). A FILE is replaced, except markdown=FILE is appended to when FILE is $GITHUB_STEP_SUMMARY or with --append',
    })
    .option('append', { type: 'boolean', describe: 'append the markdown=FILE report to FILE instead of replacing it (other formats are always replaced)' })
    .option('failures-only', { type: 'boolean', describe: 'table and Markdown: only the failing cells and their reasons (JSON, JUnit and snapshots stay complete)' })
    .option('show-known', { type: 'boolean', describe: "table: list every known gap with its reason (default: one line naming them)" })
    .option('show-cells', { alias: 'v', type: 'boolean', describe: 'table: every failing cell in full under its cause (default: a cause\'s cells on one or two lines)' });
}

/** `--from` / `--to` (run, snapshot, the shorthand): probe only part of the scenario (src/scenario/select.ts). */
export function buildFocusOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('from', { type: 'string', array: true, nargs: 1, describe: 'only these sources (scenario names or namespaces; repeatable or comma list)' })
    .option('to', { type: 'string', array: true, nargs: 1, describe: 'only these targets (scenario names or namespaces; repeatable or comma list)' });
}

/** The flags of every command that probes a cluster (`run`, the shorthand, `snapshot`), but the reports'. */
export function buildProbeOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('kubeconfig', { type: 'string', describe: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)' })
    .option('context', { type: 'string', describe: 'kubeconfig context' })
    // nargs: 1 so `--budget -1s` reaches the duration check instead of being read as the flags -1 and -s.
    .option('timeout', { type: 'string', nargs: 1, describe: "per-check timeout (default: the scenario's), e.g. 2s" })
    .option('budget', { type: 'string', nargs: 1, default: '60s', describe: 'whole-run budget; pods die at it even if netcheck is killed' })
    .option('retries', {
      type: 'string',
      nargs: 1,
      coerce: keepingHint(parseRetries),
      describe: "extra attempts for a check that disagrees with its expectation (default: the scenario's)",
    })
    .option('settle', {
      type: 'string',
      nargs: 1,
      describe: `wait after a probe pod starts before probing, while the CNI programs policies for it (kube-router needs ~1 s; default ${DEFAULT_SETTLE_MS / 1000}s); 0 to skip`,
    })
    .option('per-node', { type: 'boolean', describe: 'probe every pod source from each node, and every listener target on each node: every node pair (CNI migrations)' })
    .option('nodes', { type: 'string', nargs: 1, describe: 'with --per-node (implied): only these nodes, e.g. node-a,node-b' })
    .option('node-selector', { type: 'string', nargs: 1, describe: 'with --per-node (implied): only nodes with these labels, e.g. projectcalico.org/node-network-during-migration=calico' })
    .option('include-cordoned', { type: 'boolean', describe: 'with --per-node: probe cordoned nodes too (a drained node mid-migration; pods bound by nodeName run there)' })
    .option('in-pod', {
      type: 'boolean',
      describe:
        "run each workload source's checks in one of its own Ready pods (an ephemeral container: the pod's real identity, ~1 s), not in a new pod carrying its labels; falls back to that clone, saying so",
    })
    .option('node', { type: 'string', nargs: 1, describe: 'with --in-pod (implied): use the workload\'s pod on this node' })
    .option('image', { type: 'string', describe: `probe image: any image with \`node\` 18+ (default: ${DEFAULT_PROBE_IMAGE})` })
    .option('image-pull-secret', { type: 'string', describe: 'imagePullSecret for the probe image' })
    .option('runner-address', {
      type: 'string',
      nargs: 1,
      describe: "the address the runner's traffic carries when it reaches the cluster (after any SNAT); decides ipBlock rules for runner cells (overrides the scenario's runner `address:`; without either, those cells are unknown)",
    })
    .option('progress', { type: 'boolean', default: true, describe: 'show per-pod progress on stderr (--no-progress to hide)' });
}

/**
 * What a command that probes does with a judged run, after its reports are written: `run` maps it to the exit
 * code contract; `snapshot` reports what it recorded, or compares it with an earlier snapshot.
 */
export interface RunConclusion {
  outputs: OutputSpec[];
  conclude: (result: RunResult, infrastructureFailures: number, run: { perNode: boolean }) => Promise<ExitCode>;
}

/** `built`: a scenario the caller made (`netcheck probe`), instead of loading argv.scenario. */
export async function executeRun(argv: RunArgs, given?: RunConclusion, built?: Scenario): Promise<ExitCode> {
  const { checkOutputFiles, loadScenario, parseOutputs, writeReports } = await loadRunInputs();
  // `run` itself: the reports -o asks for, and the exit code contract.
  const conclusion: RunConclusion = given ?? {
    outputs: parseOutputs(argv.output, { append: argv.append === true }),
    conclude: async (result, infrastructureFailures) => runExitCode(result.summary, infrastructureFailures),
  };
  const { outputs } = conclusion;
  const probing = probeSettings(argv);
  const { perNode } = probing;
  const snapshotContext = { perNode };
  await checkOutputFiles(outputs);
  const scenario = built ?? selectScenario(await loadScenario(argv.scenario), { ...(argv.from ? { from: argv.from } : {}), ...(argv.to ? { to: argv.to } : {}) });
  const view = {
    ...(argv.failuresOnly === true ? { failuresOnly: true } : {}),
    ...(argv.showKnown === true ? { showKnown: true } : {}),
    ...(argv.showCells === true ? { showCells: true } : {}),
  };
  const { connectCluster, createProgressReporter, runScenario, stoppedRunResult } = await loadClusterCode();
  let client: Awaited<ReturnType<typeof connectCluster>>;
  try {
    client = await connectCluster({
      ...(argv.kubeconfig !== undefined ? { kubeconfig: argv.kubeconfig } : {}),
      ...(argv.context !== undefined ? { context: argv.context } : {}),
    });
  } catch (error) {
    // The reports are still written (every cell not run, with the reason): a CI step reading them must find them.
    if (error instanceof NetcheckError) {
      const at = new Date();
      const cluster = { ...(argv.context !== undefined ? { context: argv.context } : {}), nodes: [], unknown: [] };
      await writeReports(withoutStdoutTable(outputs), stoppedRunResult(scenario, error, { runId: newRunId(at), startedAt: at, finishedAt: at, cluster }), snapshotContext);
    }
    throw error;
  }

  // Every signal after the first is absorbed: the run's pods must be deleted whatever arrives meanwhile.
  const stop = listenForStop({
    onStop: (why) => void process.stderr.write(`netcheck: ${why}: deleting this run's pods…\n`),
    onRepeat: (signal) => void process.stderr.write(`netcheck: ${signal} again: still deleting this run's pods\n`),
  });
  // Printed before any pod exists, so a run killed with -9 leaves the way to delete its pods at once. Not
  // "netcheck: …", which is how errors and warnings start.
  const runId = newRunId();
  process.stderr.write(`netcheck run id ${runId} (if it is killed, delete its pods with: ${cleanupCommandFor(runId, argv)})\n`);
  const progress = argv.progress === false ? undefined : createProgressReporter(process.stderr);
  // Written once progress has stopped: a line in the middle of a live task list would be overdrawn.
  const cleanupWarnings: string[] = [];

  try {
    const run = await runScenario(scenario, {
      client,
      runId,
      signal: stop.signal,
      ...probing.options,
      ...(progress ? { onPlan: progress.onPlan, onProgress: progress.onProgress } : {}),
      onCleanupFailed: (message) => cleanupWarnings.push(message),
    });
    await progress?.stop(stop.stoppedBy ? `stopped by ${stop.stoppedBy}` : undefined);
    // A run stopped before it probed has nothing to show a person but the error line; files and machine formats
    // still get every cell, marked as not run.
    await writeReports(run.stoppedBy !== undefined ? withoutStdoutTable(outputs) : outputs, run.result, snapshotContext, view);
    if (stop.stoppedBy !== undefined) return stop.stoppedBy === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated;
    for (const f of run.failures) process.stderr.write(formatError(f));
    return run.stoppedBy?.exitCode ?? (await conclusion.conclude(run.result, run.failures.length, { perNode }));
  } catch (error) {
    await progress?.stop(stop.stoppedBy ? `stopped by ${stop.stoppedBy}` : 'not finished');
    if (stop.stoppedBy !== undefined) return stop.stoppedBy === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated;
    throw error;
  } finally {
    for (const w of cleanupWarnings) process.stderr.write(`netcheck: warning: ${w}\n`);
    stop.dispose();
  }
}

/** The exact `netcheck cleanup --run ID` for this run's cluster (its kubeconfig and context, quoted for a shell). */
export function cleanupCommandFor(runId: string, argv: Pick<RunArgs, 'kubeconfig' | 'context'>): string {
  const quote = (s: string) => (/^[\w./:@=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const flags = [
    ...(argv.kubeconfig !== undefined ? ['--kubeconfig', quote(argv.kubeconfig)] : []),
    ...(argv.context !== undefined ? ['--context', quote(argv.context)] : []),
  ];
  return ['netcheck', 'cleanup', '--run', runId, ...flags].join(' ');
}

export const runCommand = defineCommand<RunArgs>({
  command: COMMANDS.run.command,
  describe: COMMANDS.run.describe,
  builder: (yargs: Argv) =>
    buildRunOptions(
      buildFocusOptions(yargs.positional('scenario', SCENARIO_POSITIONAL)),
    )
      .example('$0 run financial-ml', 'probe the built-in scenario with the current kubeconfig context')
      .example('$0 run financial-ml --from serving --to seldon-scheduler,cluster-dns --failures-only', 'on-call: only what serving reaches in seldon-system and DNS; show only what fails')
      .example('$0 run scenario.yaml --context prod -o table -o junit=netcheck.xml', 'CI: table on stdout, JUnit for the CI server; exit 1 on a mismatch')
      .example('$0 run financial-ml --per-node --budget 3m', 'during a CNI migration: probe every source from every node')
      .epilogue(EXIT_CODES),
  run: executeRun,
});

/** The first word of each command but the default one, sorted. */
export function listWords(commands: ReadonlyArray<{ command: string | readonly string[] }>): string[] {
  return commands
    .map((c) => (Array.isArray(c.command) ? String(c.command[0]) : String(c.command)).split(' ')[0] ?? '')
    .filter((word) => word !== '' && word !== '$0')
    .sort();
}

/**
 * Whether `netcheck WORD [extra...]` names a built-in scenario and nothing more; otherwise the one-line error
 * that suggests the command or scenario WORD was meant to be.
 */
export function checkShorthandWord(word: string, extra: readonly unknown[], words: readonly string[]): UsageError | undefined {
  const builtins = listBuiltinScenarios();
  if (builtins.includes(word) && extra.length === 0) return undefined;
  const command = findNearestName(word, words);
  const scenario = findNearestName(word, builtins);
  const suggestion = command ? `; did you mean \`netcheck ${command}\`?` : scenario ? `; did you mean \`netcheck ${scenario}\`?` : '';
  const what = builtins.includes(word)
    ? `unexpected argument${extra.length > 1 ? 's' : ''} after ${word}: ${extra.join(' ')}`
    : `unknown command or built-in scenario "${word}"${suggestion}`;
  return new UsageError(what, {
    hint: `commands: ${words.join(', ')}; built-in scenarios: ${builtins.join(', ') || 'none'}; files: netcheck run FILE`,
  });
}

/** `netcheck financial-ml`: the on-call shorthand for `netcheck run financial-ml` (built-in scenarios only). */
export const scenarioShorthandCommand = defineCommand<Omit<RunArgs, 'scenario'> & { scenario?: string; extra?: string[] }>({
  // `[extra..]` lets a mistyped command with arguments (`netcheck valdate x`) reach the suggestion below
  // instead of yargs' bare "Unknown argument: x".
  command: '$0 [scenario] [extra..]',
  describe: 'Shorthand: `netcheck financial-ml` runs a built-in scenario',
  builder: (yargs: Argv) =>
    buildRunOptions(buildFocusOptions(yargs.positional('scenario', { type: 'string', describe: 'built-in scenario name' }))).example(
      '$0 financial-ml',
      'on-call: run the built-in financial-ml scenario against the current kubeconfig context',
    ).epilogue(EXIT_CODES),
  run: async (argv) => {
    if (argv.scenario === undefined) {
      throw new UsageError('name a command, or a built-in scenario (e.g. `netcheck financial-ml`)', { hint: 'run `netcheck --help`' });
    }
    // main.ts's middleware has already rejected a word that is not a built-in scenario (checkShorthandWord).
    return executeRun({ ...argv, scenario: argv.scenario });
  },
});
