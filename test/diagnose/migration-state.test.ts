/** Nodes a Flannel → Calico migration left stuck, from the migration controller's node labels (pure). */
import { describe, expect, it } from 'vitest';
import { describeMigrationState, MIGRATION_IN_PROGRESS_LABEL, MIGRATION_NETWORK_LABEL } from '../../src/diagnose/migration-state.js';
import type { NodeInfo } from '../../src/policy/types.js';

const node = (name: string, network: string | undefined, extra: { inProgress?: boolean; cordoned?: boolean } = {}): NodeInfo => ({
  name,
  labels: { ...(network !== undefined ? { [MIGRATION_NETWORK_LABEL]: network } : {}), ...(extra.inProgress ? { [MIGRATION_IN_PROGRESS_LABEL]: 'true' } : {}) },
  ready: true,
  unschedulable: extra.cordoned === true,
});

describe('describeMigrationState', () => {
  it('names a node whose Flannel is gone and whose Calico never came', () => {
    const [f] = describeMigrationState([node('node-b', 'none', { inProgress: true, cordoned: true })]);
    expect(f?.text).toMatch(/^node node-b: Flannel removed and Calico not started \(projectcalico\.org\/node-network-during-migration=none, migration in progress\)/);
    expect(f?.next).toMatch(/job\/flannel-migration/);
  });
  it('names a migrated node left cordoned, and says how to uncordon it', () => {
    const [f] = describeMigrationState([node('node-a', 'calico', { cordoned: true })]);
    expect(f?.text).toMatch(/^node node-a: migrated to Calico .* but still cordoned/);
    expect(f?.next).toMatch(/kubectl uncordon node-a$/);
  });
  it('says nothing of nodes the migration has not reached, is working on, or has finished', () => {
    expect(
      describeMigrationState([
        node('node-a', 'calico'),
        node('node-b', 'calico', { inProgress: true, cordoned: true }),
        node('node-c', 'flannel'),
        node('node-d', undefined, { cordoned: true }),
      ]),
    ).toEqual([]);
  });
});
