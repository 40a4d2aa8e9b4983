/**
 * Makes the lab's API server (127.0.0.1:PORT in the root namespace) reachable at the same URL from inside
 * the lab's outside host, so the kubeconfig works unchanged there. A unix socket crosses network namespaces
 * where TCP loopback does not: a forwarder in the outside host listens on its own 127.0.0.1:PORT and relays to
 * a socket that this process relays to the API. Only loopback and the lab's namespace are involved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../lab/types.js';

const FORWARDER = `
const net = require('node:net');
const [sock, port] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
`;

export interface OutsideHostApi {
  stop(): Promise<void>;
}

function relay(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

export async function exposeApiToOutsideHost(lab: Lab): Promise<OutsideHostApi> {
  const url = new URL(lab.server);
  const port = Number(url.port);
  const dir = mkdtempSync(join(tmpdir(), 'netcheck-e2e-api-'));
  const sock = join(dir, 'api.sock');
  const server: Server = createServer((client) => relay(client, createConnection(port, '127.0.0.1')));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const argv = lab.outsideHostArgv([process.execPath, '-e', FORWARDER, sock, String(port)]);
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`outside-host API forwarder exited ${code}`)));
  });
  return {
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
