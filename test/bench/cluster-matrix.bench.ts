/**
 * The matrix run (matrix-scenario.ts: 20 source pods × 50 service ports, 45 of them denied, timeout 1 s, no
 * retries) on the real cluster: kube-proxy routes, kube-router enforces, the probe pods are netcheck's own in
 * the cluster's node image. Seeded Deployments run the cluster-kit's listener on their declared ports.
 * runScenario talks to the API from this process through the kubeconfig (the 127.0.0.1 relay).
 *
 * Prints {"bench":"cluster-matrix",...measureMatrix's figures}; stderr gets the run's phases (seconds since runScenario was
 * called: probe pods created, Running, done, and the return after deleting them), which say where the time
 * over one pod lifetime goes. One run per process.
 */
import { connectCluster } from '../../src/cluster/client.js';
import type { RunningCluster } from '../cluster-kit/cluster.js';
import { runCommand } from '../cluster-kit/run-command.js';
import { MATRIX_SERVICE_PORTS, measureMatrix, writeMatrixManifests } from './matrix-scenario.js';
import { skippedWithoutCluster, startTimedCluster, warmComponentCache } from './real-cluster.js';

const BENCH = 'cluster-matrix';
const CONVERGE_TIMEOUT_MS = 60_000;

/**
 * Measure netcheck, not the cluster settling: startCluster returns once
 * kube-router's chains exist, not once this policy is in them, nor every Service port in kube-proxy's rules.
 */
async function waitForDataPlane(cluster: RunningCluster): Promise<void> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  for (;;) {
    const missing: string[] = [];
    for (const node of cluster.nodes) {
      const { stdout } = await runCommand(cluster.nodeArgv(node.name, ['iptables-save']));
      const ports = MATRIX_SERVICE_PORTS.filter((p) => !stdout.includes(`"${p} cluster IP"`));
      if (ports.length > 0) missing.push(`${node.name}: kube-proxy rules for ${ports.length} service port(s)`);
      if (!stdout.includes(':KUBE-NWPLCY-')) missing.push(`${node.name}: kube-router's chain for the policy`);
    }
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${BENCH}: data plane not converged after ${CONVERGE_TIMEOUT_MS / 1000} s: ${missing.join('; ')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

if (!skippedWithoutCluster(BENCH)) {
  await warmComponentCache(BENCH);
  const manifests = writeMatrixManifests();
  try {
    const { cluster, seconds } = await startTimedCluster(BENCH, { manifests: [manifests.file] });
    try {
      process.stderr.write(`${BENCH}: cluster ready in ${seconds.toFixed(1)} s\n`);
      const converging = performance.now();
      await waitForDataPlane(cluster);
      process.stderr.write(`${BENCH}: data plane converged ${((performance.now() - converging) / 1000).toFixed(1)} s after ready\n`);
      const { figures, failures, probePods, phases, failedOutcomes } = await measureMatrix(await connectCluster({ kubeconfig: cluster.kubeconfigPath }), { image: cluster.probeImage });
      process.stderr.write(`${BENCH}: ${probePods} probe pods; seconds since runScenario was called ${JSON.stringify(phases)}\n`);
      if (figures.failedCells > 0) process.stderr.write(`${BENCH}: failed cells by expected→observed ${JSON.stringify(failedOutcomes)}\n`);
      if (failures.length > 0) {
        process.stderr.write(`${BENCH}: ${failures.join('; ')}\n`);
        process.exitCode = 1;
      }
      console.log(JSON.stringify({ bench: BENCH, ...figures }));
    } finally {
      await cluster.stop();
    }
  } finally {
    manifests.remove();
  }
}
