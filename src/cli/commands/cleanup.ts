/**
 * `netcheck cleanup [--all-namespaces] [-n NS] [--kubeconfig --context]`: delete netcheck pods whose
 * deadline has passed (left behind by a killed run) and print what went. `--run ID` deletes that one run's pods
 * now, whatever their deadline (every run prints its id and this command on stderr when it starts).
 * Exit 0 (also when no pod of that run exists: it says so), 2 for a malformed id, 3 on API failure.
 */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../../model/errors.js';
import type { RemovedPod } from '../../probe/cleanup.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';

interface CleanupArgs {
  'all-namespaces': boolean;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  run?: string;
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
      .option('run', {
        type: 'string',
        nargs: 1,
        describe: "delete this run's pods now, whatever their deadline, in every namespace (or -n NS); the id is printed when a run starts",
      })
      .example('$0 cleanup -A', 'after a run was killed with -9: delete its expired probe pods everywhere')
      .example('$0 cleanup --run mgk2x1a3f0', 'right after killing that run: delete its pods at once'),
  run: async (argv) => {
    // Loaded here, not at the top: see loadClusterCode in run.ts.
    const [{ connectCluster }, { deleteOneRun, parseRunId, sweepExpiredPods }] = await Promise.all([
      import('../../cluster/client.js'),
      import('../../probe/cleanup.js'),
    ]);
    const runId = argv.run === undefined ? undefined : parseRunId(argv.run);
    if (argv.run !== undefined && runId === undefined) {
      throw new UsageError(`--run ${argv.run}: not a netcheck run id (lowercase letters and digits, e.g. mgk2x1a3f0)`, {
        hint: 'the id is on the "netcheck run id ID" line a run prints on stderr when it starts, and in every pod name netcheck-ID-p0',
      });
    }
    const client = await connectCluster({ kubeconfig: argv.kubeconfig, context: argv.context });
    if (runId !== undefined) {
      const scope = argv.namespace !== undefined ? `in namespace ${argv.namespace}` : 'across all namespaces';
      const removed = await deleteOneRun(client, runId, argv.namespace !== undefined ? { namespace: argv.namespace } : {});
      if (removed.length === 0) {
        console.log(`no pods of run ${runId} ${scope} (already deleted, or another cluster or context?)`);
      } else {
        for (const p of removed) console.log(`deleted pod ${p.namespace}/${p.name}`);
        console.log(`${removed.length} pod${removed.length === 1 ? '' : 's'} of run ${runId} deleted ${scope}`);
      }
      return ExitCode.Pass;
    }
    const namespace = argv.namespace ?? client.namespace;
    const removed = await sweepExpiredPods(client, { allNamespaces: argv['all-namespaces'], namespace });
    const scope = argv['all-namespaces'] ? 'across all namespaces' : `in namespace ${namespace}`;
    for (const line of describeRemoved(removed, scope)) console.log(line);
    return ExitCode.Pass;
  },
});
