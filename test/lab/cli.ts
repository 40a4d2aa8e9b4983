/**
 * `npm run lab -- up --manifests DIR [--faults FILE]`: starts a lab, prints `kubeconfig: <path>`,
 * `outside-host: <netns>` and `ready` (tooling waits for these lines), and tears down on SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse } from 'yaml';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { writeSession } from '../cluster-kit/outside-host-netcheck.js';
import { startLab } from './lab.js';
import type { Faults } from './types.js';

function readFaults(path: string | undefined): Faults {
  if (path === undefined) return {};
  const value = parse(readFileSync(path, 'utf8')) as unknown;
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: a faults file is a mapping (see Faults in test/lab/types.ts)`);
  return value as Faults;
}

async function runUp(manifests: string[], faultsFile: string | undefined): Promise<void> {
  // Handlers go in before the lab starts, so a signal during start-up still ends in a full teardown.
  let signalled!: () => void;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signalled();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const lab = await startLab({ manifests, faults: readFaults(faultsFile) });
  process.stdout.write(`kubeconfig: ${lab.kubeconfigPath}\n`);
  process.stdout.write(`outside-host: ${lab.outsideHost}\n`);
  process.stdout.write('ready\n');
  writeSession(dirname(lab.kubeconfigPath), { kubeconfig: lab.kubeconfigPath, outsideHost: lab.outsideHost });
  await stopRequested;
  await lab.stop();
}

await yargs(hideBin(process.argv))
  .scriptName('lab')
  .command(
    'up',
    'start a lab and keep it up until SIGINT/SIGTERM',
    (y) =>
      y
        .option('manifests', { type: 'string', array: true, default: [] as string[], describe: 'manifest files or directories to seed' })
        .option('faults', { type: 'string', describe: 'YAML/JSON faults file (Faults in test/lab/types.ts)' }),
    async (argv) => {
      await runUp(argv.manifests, argv.faults);
    },
  )
  .demandCommand(1)
  .strict()
  .fail((message, error) => {
    process.stderr.write(`lab: ${error?.message ?? message}\n`);
    process.exit(2);
  })
  .parseAsync();
