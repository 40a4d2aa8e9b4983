/**
 * What --help, "did you mean" and the command-line dispatch need to know of each command, without loading it:
 * its yargs command string and description. src/cli/main.ts loads only the module of the command a command line
 * names (start-up: the offline commands and --help must not pay for the policy engine, YAML or the cluster client).
 */
export const COMMANDS = {
  analyze: { command: 'analyze', describe: 'Pod-to-pod reachability matrix the policies imply, from manifests or the live cluster' },
  explain: { command: 'explain', describe: 'Explain, naming policies and rules, whether one flow is allowed (from manifests or the live cluster)' },
  lint: { command: 'lint', describe: 'Check NetworkPolicies in manifests against the platform rules (exit 1 on errors, or per --fail-on)' },
  validate: { command: 'validate <scenario>', describe: 'Check a scenario file (or built-in scenario name) and the manifests it names' },
  check: { command: 'check <scenario>', describe: "Check the scenario's intent against the policies in its manifests, without a cluster (exit 1 on a contradiction)" },
  cleanup: { command: 'cleanup', describe: 'Delete netcheck probe pods left behind by runs that were killed' },
  snapshot: { command: 'snapshot <scenario>', describe: 'Probe every cell and record what the network did, for `netcheck diff` (CNI migrations)' },
  diff: { command: 'diff <before> [after]', describe: 'What changed between two snapshots, classified against the intent (or, with --predict, what enforcement will change)' },
  dns: { command: 'dns <namespace>', describe: 'Walk the DNS chain from a pod of NAMESPACE (resolv.conf, UDP/TCP lookups, kube-dns, CoreDNS, policies): which link is broken, who fixes it' },
  probe: { command: 'probe', describe: 'Probe one flow now, no scenario file: --from NAMESPACE[/WORKLOAD] --to SERVICE.NAMESPACE:PORT (or IP:PORT, dns:NAME)' },
  watch: { command: 'watch <scenario>', describe: 'Run a scenario on a schedule and serve Prometheus metrics and the last report over HTTP (in-cluster monitoring)' },
  run: { command: 'run <scenario>', describe: 'Probe the cluster and compare with the scenario (file, directory, or built-in name)' },
} as const;

/** The `<scenario>` positional of every command that takes one. */
export const SCENARIO_POSITIONAL = {
  type: 'string',
  demandOption: true,
  describe: 'scenario file, directory holding scenario.yaml, or built-in name (e.g. financial-ml)',
} as const;
