/**
 * `npm run demo`: the README's main command on a fresh machine. Builds the real cluster's pinned components
 * if no cached build exists (with progress), starts a real cluster with the financial-ml platform, then runs
 * the built `netcheck run financial-ml` from the cluster's outside host (so the runner-side LoadBalancer checks
 * run too) with the cluster's local probe image, and removes the cluster. Exits with netcheck's own exit code.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenForStop } from '../../src/cli/stop-signals.js';
import { startCluster } from './cluster.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const extra = process.argv.slice(2);
const log = (line: string): void => void process.stderr.write(`demo: ${line}\n`);

let child: ReturnType<typeof spawn> | undefined;
// netcheck gets the first signal (it deletes its pods, then the cluster goes); later ones are absorbed by both.
const stop = listenForStop({
  onStop: (why) => child?.kill(why as NodeJS.Signals),
  onRepeat: (signal) => log(`${signal} again: still removing the cluster`),
});

log('starting a real cluster (kube-apiserver, 2 kubelets with containerd, kube-proxy, CoreDNS, kube-router) with the financial-ml platform…');
const cluster = await startCluster({ manifests: [join(root, 'scenarios', 'financial-ml', 'manifests')], onProgress: (line) => log(`cluster: ${line}`) });
let code = 70;
try {
  if (!stop.signal.aborted) {
    const argv = cluster.outsideHostArgv([process.execPath, join(root, 'dist', 'bin', 'main.js'), 'run', 'financial-ml', '--kubeconfig', cluster.kubeconfigPath, '--image', cluster.probeImage, ...extra]);
    log(argv.join(' '));
    // Async spawn: the relay to the API server runs in this process and must keep serving.
    child = spawn(argv[0] as string, argv.slice(1), { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    code = await new Promise<number>((resolve) => child!.on('close', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? 130 : 143))));
  } else code = stop.stoppedBy === 'SIGTERM' ? 143 : 130;
} finally {
  await cluster.stop();
}
log(`netcheck exited ${code}; cluster removed`);
process.exitCode = code;
