/**
 * Nodes a Flannel → Calico migration left in a bad state, read off the labels Calico's flannel migration
 * controller keeps on each node (kube-controllers/pkg/controllers/flannelmigration): `…/node-network-during-migration`
 * is `flannel`, `none` (Flannel removed, Calico not started) or `calico`, and `…/node-flannel-migration-in-progress`
 * marks a node between drain and uncordon. Known failures: a node left cordoned after its migration
 * (projectcalico/calico#3543), a node whose Flannel is gone and whose Calico never came (kube-controllers#495).
 * Pure: nodes in, findings out.
 */
import type { RunFinding } from '../model/verdict.js';
import type { NodeInfo } from '../policy/types.js';
import { responsibilityFor } from './ownership.js';

export const MIGRATION_NETWORK_LABEL = 'projectcalico.org/node-network-during-migration';
export const MIGRATION_IN_PROGRESS_LABEL = 'projectcalico.org/node-flannel-migration-in-progress';

/** One finding per node the migration left stuck; none when no node carries the migration labels. */
export function describeMigrationState(nodes: readonly NodeInfo[]): RunFinding[] {
  const owner = responsibilityFor('cni').owner;
  const findings: RunFinding[] = [];
  for (const node of [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const network = node.labels[MIGRATION_NETWORK_LABEL];
    const inProgress = node.labels[MIGRATION_IN_PROGRESS_LABEL] === 'true';
    const pods = `kubectl get pods -A -o wide --field-selector spec.nodeName=${node.name}`;
    if (network === 'none') {
      findings.push({
        text:
          `node ${node.name}: Flannel removed and Calico not started (${MIGRATION_NETWORK_LABEL}=none${inProgress ? ', migration in progress' : ''}): ` +
          'pods on it get no network and it reaches no other node — the migration stopped halfway through this node',
        cells: [],
        owner,
        next: `kubectl logs -n kube-system job/flannel-migration; ${pods}`,
      });
    } else if (network === 'calico' && !inProgress && node.unschedulable === true) {
      findings.push({
        text: `node ${node.name}: migrated to Calico (${MIGRATION_NETWORK_LABEL}=calico) but still cordoned — the migration did not uncordon it (projectcalico/calico#3543)`,
        cells: [],
        owner,
        next: `kubectl get pods -n kube-system -o wide --field-selector spec.nodeName=${node.name}; kubectl uncordon ${node.name}`,
      });
    } else if (network === 'calico' && inProgress && node.unschedulable !== true) {
      findings.push({
        text: `node ${node.name}: uncordoned while its migration is marked in progress (${MIGRATION_IN_PROGRESS_LABEL}=true): the controller stopped before finishing it`,
        cells: [],
        owner,
        next: 'kubectl logs -n kube-system job/flannel-migration',
      });
    }
  }
  return findings;
}
