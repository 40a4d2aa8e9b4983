/**
 * A lab run of 20 source pods × 50 targets, most of them denied, probe timeout 1 s, no retries (matrix-scenario.ts).
 * Deny probes all time out concurrently, so wall time should stay near one pod lifetime, not 45 timeouts.
 * Prints {"bench":"lab-matrix","sources":20,"targets":50,"timeoutSeconds":1,"wallSeconds":W,"podsRunningSeconds":P,"ratio":W/(P+1),...}
 * where P spans from the first probe pod running to the last one done.
 */
import { connectCluster } from '../../src/cluster/client.js';
import { startLab } from '../lab/lab.js';
import { measureMatrix, writeMatrixManifests } from './matrix-scenario.js';

const manifests = writeMatrixManifests();
const lab = await startLab({ manifests: [manifests.file] });
try {
  // Measure netcheck, not the lab's own start-up: let services, DNS and policies converge first.
  await lab.settle();
  const { figures, failures } = await measureMatrix(await connectCluster({ kubeconfig: lab.kubeconfigPath }));
  if (failures.length > 0) {
    process.stderr.write(`lab-matrix: ${failures.join('; ')}\n`);
    process.exitCode = 1;
  }
  console.log(JSON.stringify({ bench: 'lab-matrix', ...figures }));
} finally {
  await lab.stop();
  manifests.remove();
}
