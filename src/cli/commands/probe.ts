/**
 * `netcheck probe --from NS[/WORKLOAD] --to TARGET:PORT`: one ad-hoc check, no scenario file. The flow becomes a
 * one-cell scenario (src/scenario/ad-hoc.ts) run exactly as `netcheck run` runs one: same reports, verdicts,
 * diagnosis and exit codes.
 */
import type { Argv } from 'yargs';
import { buildAdHocScenario } from '../../scenario/ad-hoc.js';
import { COMMANDS } from './catalog.js';
import { defineCommand } from '../command.js';
import { buildRunOptions, executeRun, type RunArgs } from './run.js';

interface ProbeArgs extends Omit<RunArgs, 'scenario' | 'from' | 'to'> {
  from: string;
  to: string;
  expect?: string;
  http?: string;
  protocol?: string;
}

export const probeCommand = defineCommand<ProbeArgs>({
  command: COMMANDS.probe.command,
  describe: COMMANDS.probe.describe,
  builder: (yargs: Argv) =>
    buildRunOptions(
      yargs
        .option('from', {
          type: 'string',
          nargs: 1,
          demandOption: 'name where the traffic starts: --from NAMESPACE, NAMESPACE/DEPLOYMENT, NAMESPACE/KIND/NAME or runner',
          describe: 'NAMESPACE (a probe pod with no labels), NAMESPACE/DEPLOYMENT or NAMESPACE/KIND/NAME (a pod with that workload\'s labels), or runner (this machine)',
        })
        .option('to', {
          type: 'string',
          nargs: 1,
          demandOption: 'name the target: --to SERVICE.NAMESPACE:PORT, NAMESPACE/SERVICE:PORT, IP:PORT or dns:NAME',
          describe: 'SERVICE.NAMESPACE[.svc.cluster.local]:PORT or NAMESPACE/SERVICE:PORT (PORT a number or the Service port\'s name), IP:PORT or HOST.DOMAIN.TLD:PORT (an address), or dns:NAME (a lookup)',
        })
        .option('expect', { type: 'string', nargs: 1, describe: 'allow (default): the flow must get through; deny: it must be blocked; or exactly: connected, refused (rejected), blocked (dropped: timeout/unreachable), nxdomain' })
        .option('http', { type: 'string', nargs: 1, describe: 'an HTTP GET of this path instead of a TCP connect (any status counts as connected)' })
        .option('protocol', { type: 'string', nargs: 1, describe: 'TCP (default), UDP or SCTP; for dns:NAME, UDP (default) or TCP' }),
    )
      .example('$0 probe --from financial-ml/financial-predictor --to seldon-scheduler.seldon-system:9005', 'can serving reach the Seldon scheduler?')
      .example('$0 probe --from default --to financial-ml/financial-predictor:8080 --expect deny', 'is the predictor closed to other namespaces?')
      .example('$0 probe --from financial-ml --to dns:kube-dns.kube-system.svc.cluster.local', 'does DNS answer from financial-ml?')
      .example('$0 probe --from runner --to 192.168.1.208:5000 --http /health', 'does MLflow\'s LoadBalancer answer from this machine?')
      .epilogue('exit: as `netcheck run`: 0 pass · 1 the policies decide against --expect · 2 bad input · 3 the check could not run · 4 environment fault (DNS, data plane)'),
  run: async (argv) => {
    const scenario = buildAdHocScenario({
      from: argv.from,
      to: argv.to,
      ...(argv.expect !== undefined ? { expect: argv.expect } : {}),
      ...(argv.http !== undefined ? { http: argv.http } : {}),
      ...(argv.protocol !== undefined ? { protocol: argv.protocol } : {}),
    });
    const { from: _from, to: _to, expect: _expect, http: _http, protocol: _protocol, ...runArgs } = argv;
    return executeRun({ ...runArgs, scenario: scenario.name }, undefined, scenario);
  },
});
