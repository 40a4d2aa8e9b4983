/**
 * `npm run demo`: a lab with the financial-ml platform, then the built `netcheck run financial-ml` from the
 * lab's outside host (so the runner-side LoadBalancer checks run too), printing the matrix and findings.
 * Exits with netcheck's own exit code.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab } from './lab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const extra = process.argv.slice(2);

process.stderr.write('demo: starting a lab with the financial-ml platform…\n');
const lab = await startLab({ manifests: [join(root, 'scenarios', 'financial-ml', 'manifests')] });
let code = 70;
try {
  const argv = lab.outsideHostArgv([process.execPath, join(root, 'dist', 'src', 'cli', 'main.js'), 'run', 'financial-ml', '--kubeconfig', lab.kubeconfigPath, ...extra]);
  process.stderr.write(`demo: ${argv.join(' ')}\n`);
  // Async spawn: the lab's API server runs in this process and must keep serving.
  const child = spawn(argv[0] as string, argv.slice(1), { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.once('SIGINT', stop('SIGINT'));
  process.once('SIGTERM', stop('SIGTERM'));
  code = await new Promise<number>((resolve) => child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? 130 : 143))));
} finally {
  await lab.stop();
}
process.stderr.write(`demo: netcheck exited ${code}; lab removed\n`);
process.exitCode = code;
