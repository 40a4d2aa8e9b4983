/**
 * `netcheck cleanup [--all-namespaces] [-n NS] [--kubeconfig --context]`: delete netcheck pods whose
 * deadline has passed (left behind by a killed run) and print what went. Exit 0, or 3 on API failure.
 */
import type { Argv } from 'yargs';
import { ExitCode } from '../../model/errors.js';
import type { RemovedPod } from '../../probe/cleanup.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';

interface CleanupArgs {
  'all-namespaces': boolean;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

function describeRemoved(removed: RemovedPod[], scope: string): string[] {
  if (removed.length === 0) return [`no expired netcheck pods ${scope}`];
  return [
    ...removed.map((p) => `deleted pod ${p.namespace}/${p.name} (run ${p.run || '?'}, ${p.why})`),
    `${removed.length} pod${removed.length === 1 ? '' : 's'} deleted ${scope}`,
  ];
}

export const cleanupCommand = defineCommand<CleanupArgs>({
  command: COMMANDS.cleanup.command,
  describe: COMMANDS.cleanup.describe,
  builder: (yargs: Argv) =>
    yargs
      .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'sweep every namespace' })
      .option('namespace', { alias: 'n', type: 'string', describe: 'namespace to sweep (default: the context\'s)' })
      .option('kubeconfig', { type: 'string', describe: 'path to the kubeconfig file' })
      .option('context', { type: 'string', describe: 'kubeconfig context to use' })
      .example('$0 cleanup -A', 'after a run was killed with -9: delete its expired probe pods everywhere'),
  run: async (argv) => {
    // Loaded here, not at the top: see loadClusterCode in run.ts.
    const [{ connectCluster }, { sweepExpiredPods }] = await Promise.all([import('../../cluster/client.js'), import('../../probe/cleanup.js')]);
    const client = await connectCluster({ kubeconfig: argv.kubeconfig, context: argv.context });
    const namespace = argv.namespace ?? client.namespace;
    const removed = await sweepExpiredPods(client, { allNamespaces: argv['all-namespaces'], namespace });
    const scope = argv['all-namespaces'] ? 'across all namespaces' : `in namespace ${namespace}`;
    for (const line of describeRemoved(removed, scope)) console.log(line);
    return ExitCode.Pass;
  },
});
