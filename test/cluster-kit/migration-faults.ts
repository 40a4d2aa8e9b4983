/**
 * Faults a real Flannel → Calico migration leaves behind (projectcalico/calico#3543, projectcalico/kube-controllers#495),
 * made on a running cluster, each with its restore:
 *
 *   stopFlannelWithoutCalico  what the flannel migration controller does to a node up to starting Calico, and no
 *                             further: in-progress label, drain, label `none` (the Flannel pod leaves), flannel.1 and
 *                             cni0 deleted and the dummy CNI config written (its remove-flannel pod's command), the
 *                             node's pods deleted. The node is left without a pod network.
 *   leaveCordoned             a migrated node that was never uncordoned.
 *   breakVxlan                the overlay between two nodes: UDP 8472 (Flannel's VXLAN port, which Calico keeps
 *                             during a migration: FelixConfiguration vxlanPort from Flannel's) from one node dropped
 *                             inside the other's namespace (faults.ts dropInNode, raw PREROUTING).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeHostPath, NODE_CNI_CONF_DIR } from './configs.js';
import { dropInNode, type NodeFault } from './faults.js';
import { IN_PROGRESS_LABEL, MIGRATION_LABEL, type MigrationTarget } from './migrate.js';
import { runCommand } from './run-command.js';

export interface MigrationFault {
  node: string;
  /** One line: what was done. */
  description: string;
  restore(): Promise<void>;
}

/** The dummy config the controller writes in front of Flannel's (network_migrator.go), under Calico's file name. */
const DUMMY_CNI = '{ "name": "dummy", "plugins": [{ "type": "flannel-migration-in-progress" }]}';
const CALICO_CNI_CONF = '10-calico.conflist';
/** Flannel's VXLAN port (and Calico's while migrating from it). */
export const FLANNEL_VXLAN_PORT = '8472';

const kubectl = (target: MigrationTarget, args: string[]) => runCommand(['kubectl', '--kubeconfig', target.kubeconfigPath, ...args]);

function netnsOf(target: MigrationTarget, node: string): string {
  const found = target.nodes.find((n) => n.name === node);
  if (found === undefined) throw new Error(`no node ${node} (nodes: ${target.nodes.map((n) => n.name).join(', ')})`);
  return found.netns;
}

const inNode = (target: MigrationTarget, node: string, argv: string[]): string[] => ['nsenter', `--net=/run/netns/${netnsOf(target, node)}`, ...argv];

async function flannelPodOn(target: MigrationTarget, node: string): Promise<boolean> {
  const { stdout } = await kubectl(target, ['get', 'pods', '-A', '-l', 'app=flannel', '--field-selector', `spec.nodeName=${node}`, '-o', 'name']);
  return stdout.trim() !== '';
}

/**
 * Flannel stopped on `node`, Calico never started: the controller's steps before it labels the node `calico`.
 * Needs a started migration (the Flannel DaemonSet selects `…=flannel` nodes only from then on).
 */
export async function stopFlannelWithoutCalico(target: MigrationTarget, node: string): Promise<MigrationFault> {
  await kubectl(target, ['label', 'node', node, `${IN_PROGRESS_LABEL}=true`, '--overwrite']);
  await kubectl(target, ['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=300s']);
  await kubectl(target, ['label', 'node', node, `${MIGRATION_LABEL}=none`, '--overwrite']);
  for (let i = 0; await flannelPodOn(target, node); i++) {
    if (i > 300) throw new Error(`the Flannel pod on ${node} did not leave after the ${MIGRATION_LABEL}=none label (is the migration started?)`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  // What the remove-flannel pod runs: the devices go (with their routes, ARP and FDB entries), the dummy config
  // goes in front of Flannel's so that no new pod gets a network.
  for (const link of ['cni0', 'flannel.1']) await runCommand(inNode(target, node, ['ip', 'link', 'delete', link])).catch(() => undefined);
  const dummy = join(nodeHostPath(join(target.dir, node), NODE_CNI_CONF_DIR), CALICO_CNI_CONF);
  writeFileSync(dummy, `${DUMMY_CNI}\n`);
  const { stdout } = await kubectl(target, ['get', 'pods', '-A', '--field-selector', `spec.nodeName=${node}`, '-o', 'json']);
  for (const pod of (JSON.parse(stdout) as { items: Array<{ metadata: { namespace: string; name: string }; spec: { hostNetwork?: boolean } }> }).items) {
    if (pod.spec.hostNetwork !== true) await kubectl(target, ['delete', 'pod', '-n', pod.metadata.namespace, pod.metadata.name, '--wait=false']);
  }
  return {
    node,
    description: `${node}: drained, ${MIGRATION_LABEL}=none, flannel.1 and cni0 deleted, dummy CNI config, no Calico`,
    async restore() {
      rmSync(dummy, { force: true });
      await kubectl(target, ['label', 'node', node, `${MIGRATION_LABEL}=flannel`, `${IN_PROGRESS_LABEL}-`, '--overwrite']);
      await kubectl(target, ['uncordon', node]);
    },
  };
}

/** `node` cordoned and left so: a migration that ended before its uncordon. */
export async function leaveCordoned(target: MigrationTarget, node: string): Promise<MigrationFault> {
  netnsOf(target, node);
  await kubectl(target, ['cordon', node]);
  return { node, description: `${node}: cordoned`, restore: async () => void (await kubectl(target, ['uncordon', node])) };
}

/** The overlay between `node` and `peer` broken: VXLAN from `peer` dropped inside `node`'s namespace. */
export async function breakVxlan(target: MigrationTarget, node: string, peer: string): Promise<NodeFault> {
  const { stdout } = await kubectl(target, ['get', 'node', peer, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}']);
  const peerIp = stdout.trim();
  if (peerIp === '') throw new Error(`node ${peer} has no InternalIP`);
  const faultTarget = { nodes: target.nodes, nodeArgv: (name: string, argv: string[]) => inNode(target, name, argv) };
  return dropInNode(faultTarget, node, [['-p', 'udp', '-s', peerIp, '--dport', FLANNEL_VXLAN_PORT]]);
}
