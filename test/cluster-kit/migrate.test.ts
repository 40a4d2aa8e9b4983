/**
 * The migration's objects are upstream's flannel-migration manifests of the pinned Calico commit with the kit's
 * documented edits only, and the node the controller waits at is read off its own log line. The migration itself
 * runs in test/e2e/cluster-migration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CALICO_RELEASE, calicoModuleDir, calicoUnavailable, type Components } from './build.js';
import { NODE_CNI_CONF_DIR } from './configs.js';
import { MIGRATION_LABEL, migrationControllerImage, migrationObjects, nodeAwaited } from './migrate.js';

describe('nodeAwaited', () => {
  it('is the node of the controller\'s last "Waiting for node" line (network_migrator.go waitForNodeLabelDisappear)', () => {
    const log = [
      'level=info msg="Waiting for node node-a label projectcalico.org/flannel-migration-pause-seconds to disappear."',
      'level=info msg="Calico networking is running on node-a."',
      'level=info msg="Waiting for node node-b label projectcalico.org/flannel-migration-pause-seconds to disappear."',
    ].join('\n');
    expect(nodeAwaited(log)).toBe('node-b');
    expect(nodeAwaited('level=info msg="Start IPAM migration process for 2 nodes."')).toBeUndefined();
  });
});

const skip = calicoUnavailable();
describe.skipIf(skip !== undefined)('migrationObjects', () => {
  it('is upstream\'s flannel-migration calico.yaml and migration-job.yaml with local images, the nodes\' CNI dir and a preferred last node', async () => {
    const source = await calicoModuleDir();
    const components = { calico: { source } } as unknown as Components;
    const objects = migrationObjects(components, ['node-b', 'node-a']);
    const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'calico-node');
    expect(ds?.metadata.namespace).toBe('kube-system');
    // calico-node runs only where the controller has labelled the node calico.
    expect(ds?.spec.template.spec.nodeSelector[MIGRATION_LABEL]).toBe('calico');
    const job = objects.find((o) => o.kind === 'Job');
    const container = job?.spec.template.spec.containers[0];
    expect(container.image).toBe(migrationControllerImage(CALICO_RELEASE));
    expect(container.env).toContainEqual({ name: 'ENABLED_CONTROLLERS', value: 'flannelmigration' });
    expect(container.env).toContainEqual({ name: 'CNI_CONFIG_DIR', value: NODE_CNI_CONF_DIR });
    expect(job?.spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values).toEqual(['node-b']);
    for (const o of objects.filter((x) => x.kind === 'DaemonSet' || x.kind === 'Deployment' || x.kind === 'Job')) {
      for (const c of [...(o.spec.template.spec.initContainers ?? []), ...o.spec.template.spec.containers]) expect(c.image).toMatch(/^netcheck\.local\//);
    }
  });
});
if (skip !== undefined) console.warn(`migration objects: skipped — ${skip}`);
