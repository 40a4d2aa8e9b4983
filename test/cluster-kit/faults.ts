/**
 * Faults made real on the test cluster's data plane, each with its restore. Every rule goes inside ONE node's
 * network namespace (cluster.nodeArgv), in the `raw` table's PREROUTING chain: kube-proxy and kube-router never
 * touch that chain, so their periodic resyncs cannot put an ACCEPT ahead of the fault. PREROUTING sees what the
 * node forwards (its pods' packets, bridged ones too: bridge-nf-call-iptables is on) but not what the node itself
 * sends (the kubelet's probes, its API traffic), so the node stays Ready and its pods keep running — exactly a
 * data plane that is broken under a healthy kubelet.
 */
import { readFileSync } from 'node:fs';
import type { RunningCluster } from './cluster.js';
import { runCommand } from './run-command.js';

/** Tags every rule a fault adds, so a restore removes exactly those (and a leftover is recognisable). */
const COMMENT = 'netcheck-test-fault';

export interface NodeFault {
  node: string;
  /** The iptables rule specs added (without the chain), for messages. */
  rules: string[][];
  /** Removes the rules; safe to call twice. */
  restore(): Promise<void>;
}

/** What a fault needs of a cluster: its nodes and a way into one's network namespace (a RunningCluster has both). */
type FaultTarget = Pick<RunningCluster, 'nodeArgv'> & { nodes: ReadonlyArray<{ name: string }> };

function nodeOf<T extends { name: string }>(cluster: { nodes: ReadonlyArray<T> }, name: string): T {
  const node = cluster.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name} (nodes: ${cluster.nodes.map((n) => n.name).join(', ')})`);
  return node;
}

/**
 * Adds DROP rules (match specs without `-j`) at the top of raw PREROUTING in `node`'s namespace, after RETURN rules
 * for `exempt` specs (checked first). The generic form: a DNS-only fault is
 * `[['-s', podCIDR, '-p', 'udp', '--dport', '53']]`, and so on.
 */
export async function dropInNode(cluster: FaultTarget, node: string, matches: string[][], exempt: string[][] = []): Promise<NodeFault> {
  nodeOf(cluster, node);
  const tagged = (m: string[], target: string): string[] => [...m, '-m', 'comment', '--comment', COMMENT, '-j', target];
  // Inserted at position 1 one by one: the last inserted is checked first, so DROPs go in before the RETURNs.
  const rules = [...matches.map((m) => tagged(m, 'DROP')), ...exempt.map((m) => tagged(m, 'RETURN'))];
  const added: string[][] = [];
  const restore = async (): Promise<void> => {
    for (const rule of added.splice(0).reverse()) {
      await runCommand(cluster.nodeArgv(node, ['iptables', '-t', 'raw', '-D', 'PREROUTING', ...rule])).catch(() => undefined);
    }
  };
  try {
    for (const rule of rules) {
      await runCommand(cluster.nodeArgv(node, ['iptables', '-t', 'raw', '-I', 'PREROUTING', '1', ...rule]));
      added.push(rule);
    }
  } catch (error) {
    await restore();
    throw error;
  }
  return { node, rules, restore };
}

/**
 * The node's pod data plane drops everything: packets from its pods and packets to its pods from anywhere else —
 * except between its pods and the node itself (its bridge address and its own address), so the kubelet's
 * readiness and liveness probes still get their answers and its pods stay Ready and are not restarted. Pods on it
 * can reach nothing else, nothing else reaches them — including a CoreDNS pod on it.
 */
export function breakNodeDataPlane(cluster: RunningCluster, node: string): Promise<NodeFault> {
  const { podCIDR, gateway, ip } = nodeOf(cluster, node);
  return dropInNode(
    cluster,
    node,
    [['-s', podCIDR], ['-d', podCIDR]],
    [
      ['-s', podCIDR, '-d', gateway],
      ['-s', podCIDR, '-d', ip],
    ],
  );
}

/** Rules a fault left in a node (a crashed test): their specs as iptables-save prints them. */
export async function leftoverFaultRules(cluster: RunningCluster, node: string): Promise<string[]> {
  const { stdout } = await runCommand(cluster.nodeArgv(node, ['iptables-save', '-t', 'raw']));
  return stdout.split('\n').filter((l) => l.includes(COMMENT));
}

export interface PausedRuntime {
  nodes: string[];
  /** SIGCONT to every paused containerd; safe to call twice. */
  resume(): void;
}

/**
 * A slow pod start, made real: the nodes' containerd processes are stopped (SIGSTOP), so the kubelet's sandbox and
 * container calls wait, and pods scheduled there stay Pending (ContainerCreating) until `resume()`. Running
 * containers are untouched (their shims are separate processes). Keep it to seconds: after minutes the kubelet
 * would call the runtime down and the node NotReady.
 */
export function pauseContainerRuntime(cluster: Pick<RunningCluster, 'containerRuntimePid' | 'nodes'>, nodes = cluster.nodes.map((n) => n.name)): PausedRuntime {
  const pids = nodes.map((node) => {
    const pid = cluster.containerRuntimePid(node);
    const command = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (command !== 'containerd') throw new Error(`node ${node}: PID ${pid} is ${command}, not containerd`);
    return pid;
  });
  const paused: number[] = [];
  const resume = (): void => {
    for (const pid of paused.splice(0)) process.kill(pid, 'SIGCONT');
  };
  try {
    for (const pid of pids) {
      process.kill(pid, 'SIGSTOP');
      paused.push(pid);
    }
  } catch (error) {
    resume();
    throw error;
  }
  return { nodes, resume };
}
