/**
 * CLI start-up: wall time of the built CLI (dist/, run `npm run build` first) from spawn to exit, for help,
 * version and the offline commands, over RUNS runs each, interleaved so a burst of load on the machine hits
 * every command alike. `node -e ''` is measured the same way: the floor no CLI goes below on this machine.
 * Prints one JSON line per command: {"bench":"startup","command":…,"medianMs":…,"minMs":…}.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env['NETCHECK_BENCH_RUNS'] ?? 15);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The shipped entry point (package.json bin): the bundle, whose start-up is what users wait for.
const cli = join(root, 'dist', 'bin', 'main.js');
if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first`);

const commands: Array<{ name: string; args: string[] }> = [
  { name: "node -e ''", args: ['-e', ''] },
  { name: '--version', args: [cli, '--version'] },
  { name: '--help', args: [cli, '--help'] },
  { name: 'analyze --manifests scenarios/financial-ml/manifests', args: [cli, 'analyze', '--manifests', 'scenarios/financial-ml/manifests'] },
  { name: 'validate financial-ml', args: [cli, 'validate', 'financial-ml'] },
  // A command's start without its work: its modules loaded, its help laid out.
  { name: 'analyze --help', args: [cli, 'analyze', '--help'] },
  { name: 'validate --help', args: [cli, 'validate', '--help'] },
];

const times = commands.map((): number[] => []);
for (let run = 0; run < RUNS; run++) {
  commands.forEach((command, i) => {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, command.args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${command.name}: exit ${r.status}: ${r.stderr.toString()}`);
    times[i]?.push(ms);
  });
}

commands.forEach((command, i) => {
  const sorted = [...(times[i] ?? [])].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  console.log(JSON.stringify({ bench: 'startup', command: command.name, runs: RUNS, medianMs: Math.round(median), minMs: Math.round(sorted[0] ?? NaN) }));
});
