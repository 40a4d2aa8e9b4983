/**
 * What the Calico cluster applies: upstream's calico-vxlan.yaml of the pinned module, read from the module
 * cache, with exactly the edits calico.ts names, and nothing in it that would touch the machine (every hostPath
 * is one of the node's own directories). Needs the Calico module (skipped where it cannot be built).
 */
import { describe, expect, it } from 'vitest';
import { calicoModuleDir, calicoUnavailable } from './build.js';
import { CALICO_FLANNEL_MIGRATION_MANIFEST, calicoImageRefs, calicoIpPools, editCalicoManifest, readCalicoManifest } from './calico.js';
import { NODE_CNI_BIN_DIR, NODE_CNI_CONF_DIR } from './configs.js';
import { CLUSTER_CIDR, planNetwork } from './network.js';

const skip = calicoUnavailable();
if (skip !== undefined) console.warn(`calico manifest: skipped — ${skip}`);

type Obj = Record<string, any>;
const images = calicoImageRefs('test');

async function upstream(manifest?: string): Promise<Obj[]> {
  return readCalicoManifest({ source: await calicoModuleDir() }, manifest);
}

const podSpec = (objects: Obj[], kind: string, name: string): Obj => objects.find((o) => o.kind === kind && o.metadata.name === name)!.spec.template.spec;
const envOf = (container: Obj): Record<string, unknown> => Object.fromEntries((container.env ?? []).map((e: Obj) => [e.name, e.value ?? e.valueFrom]));

describe.skipIf(skip !== undefined)('calico manifest', () => {
  it('upstream ships what the kit relies on: the VXLAN backend, calico-ipam, the CRDs of the datastore', async () => {
    const objects = await upstream();
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'calico-config')!;
    expect(config.data.calico_backend).toBe('vxlan');
    expect(JSON.parse(config.data.cni_network_config.replace('__CNI_MTU__', '0')).plugins[0].ipam.type).toBe('calico-ipam');
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
    expect(crds).toEqual(expect.arrayContaining(['ippools.crd.projectcalico.org', 'networkpolicies.crd.projectcalico.org', 'felixconfigurations.crd.projectcalico.org', 'ipamblocks.crd.projectcalico.org']));
  });

  it('edits only the pod specs of calico-node and calico-kube-controllers, and only as documented', async () => {
    const before = await upstream();
    const after = editCalicoManifest(before, { images });
    expect(after.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(before.map((o) => `${o.kind}/${o.metadata.name}`));
    const workloads = new Set(['DaemonSet/calico-node', 'Deployment/calico-kube-controllers']);
    for (const [i, o] of after.entries()) if (!workloads.has(`${o.kind}/${o.metadata.name}`)) expect(o).toEqual(before[i]);

    const node = podSpec(after, 'DaemonSet', 'calico-node');
    expect(node.hostNetwork).toBe(true);
    expect(node.initContainers.map((c: Obj) => `${c.name} ${c.image}`)).toEqual([`upgrade-ipam ${images.cni}`, `install-cni ${images.cni}`]);
    expect(node.containers.map((c: Obj) => `${c.name} ${c.image}`)).toEqual([`calico-node ${images.node}`]);
    const main = node.containers[0];
    expect(main.securityContext.privileged).toBe(true);
    expect(envOf(main)).toMatchObject({ NO_DEFAULT_POOLS: 'true', FELIX_IPTABLESBACKEND: 'NFT', DATASTORE_TYPE: 'kubernetes' });
    expect(envOf(main).CALICO_NETWORKING_BACKEND).toEqual({ configMapKeyRef: { name: 'calico-config', key: 'calico_backend' } });
    expect(envOf(node.initContainers[1])).toMatchObject({ CNI_NET_DIR: NODE_CNI_CONF_DIR, CNI_CONF_NAME: '10-calico.conflist' });
    const hostPaths = Object.fromEntries(node.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => [v.name, v.hostPath.path]));
    expect(hostPaths).toMatchObject({ 'cni-bin-dir': NODE_CNI_BIN_DIR, 'cni-net-dir': NODE_CNI_CONF_DIR });
    expect(Object.keys(hostPaths)).not.toEqual(expect.arrayContaining(['lib-modules']));
    for (const c of [...node.initContainers, ...node.containers]) {
      for (const m of c.volumeMounts ?? []) expect(node.volumes.map((v: Obj) => v.name), `${c.name} mounts ${m.name}`).toContain(m.name);
    }

    const controllers = podSpec(after, 'Deployment', 'calico-kube-controllers');
    expect(controllers.containers.map((c: Obj) => `${c.name} ${c.image}`)).toEqual([`calico-kube-controllers ${images.kubeControllers}`]);
  });

  it('mounts nothing of the machine: every hostPath is a node directory (/run, /var/lib, /var/log in its mount namespace)', async () => {
    const after = editCalicoManifest(await upstream(), { images });
    const paths = after
      .filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment')
      .flatMap((o) => (o.spec.template.spec.volumes ?? []).filter((v: Obj) => v.hostPath).map((v: Obj) => v.hostPath.path as string));
    expect(paths.length).toBeGreaterThan(5);
    for (const path of paths) expect(path).toMatch(/^\/(run|var\/run|var\/lib|var\/log)\//);
  });

  it('the flannel-migration manifest takes the same edits and keeps what the migration needs: VXLAN, calico-node only on migrated nodes', async () => {
    const after = editCalicoManifest(await upstream(CALICO_FLANNEL_MIGRATION_MANIFEST), { images });
    expect(after.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'calico-config')!.data.calico_backend).toBe('vxlan');
    const node = podSpec(after, 'DaemonSet', 'calico-node');
    expect(node.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'projectcalico.org/node-network-during-migration': 'calico' });
    expect(node.containers.map((c: Obj) => c.image)).toEqual([images.node]);
  });
});

describe('calico IP pools', () => {
  it('one pool per node: its pod CIDR, selected by its name, VXLAN always, masquerading what leaves the pools', () => {
    const net = planNetwork('t', 3);
    const pools = calicoIpPools(net.nodes);
    expect(pools.map((p) => [p.metadata.name, p.spec.cidr, p.spec.nodeSelector])).toEqual([
      ['node-a-ipv4', '10.244.1.0/24', 'kubernetes.io/hostname == "node-a"'],
      ['node-b-ipv4', '10.244.2.0/24', 'kubernetes.io/hostname == "node-b"'],
      ['node-c-ipv4', '10.244.3.0/24', 'kubernetes.io/hostname == "node-c"'],
    ]);
    for (const p of pools) {
      expect(p.spec).toMatchObject({ vxlanMode: 'Always', ipipMode: 'Never', natOutgoing: true, disabled: false, allowedUses: ['Workload', 'Tunnel'] });
      expect(p.spec.cidr.startsWith(CLUSTER_CIDR.split('.').slice(0, 2).join('.'))).toBe(true);
    }
  });
});
