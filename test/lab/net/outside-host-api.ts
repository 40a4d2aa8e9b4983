/**
 * Makes the lab's API server (127.0.0.1:PORT in the root namespace) reachable at the same URL from inside
 * the lab's outside host, so the kubeconfig works unchanged for netcheck (and kubectl) run there. A unix
 * socket crosses network namespaces where TCP loopback does not: a forwarder in the outside host listens on
 * its own 127.0.0.1:PORT and relays to a socket that this process relays to the API. Only loopback and the
 * lab's namespace are involved, so no address, route or rule is added anywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

// The forwarder exits when its stdin closes: a lab process that dies without stop() does not leave it behind
// (the stale-lab sweep would also kill it, as a process inside a lab namespace).
const FORWARDER = `
const net = require('node:net');
const [sock, port] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

const START_TIMEOUT_MS = 10_000;

export interface OutsideHostApi {
  /** PID of the forwarder inside the outside host. */
  readonly pid: number;
  /** Kills the forwarder (by PID), closes the relay and removes the socket dir. Idempotent. */
  stop(): Promise<void>;
}

export interface OutsideHostApiOptions {
  /** The API server's port on the root namespace's 127.0.0.1; the forwarder listens on the same one. */
  port: number;
  /** Network namespace of the outside host. */
  outsideHost: string;
  /** A directory the caller owns; the socket lives in a subdirectory removed by stop(). */
  dir: string;
}

function relay(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

export async function exposeApiToOutsideHost(options: OutsideHostApiOptions): Promise<OutsideHostApi> {
  const dir = join(options.dir, 'outside-host-api');
  mkdirSync(dir, { mode: 0o700 });
  const sock = join(dir, 'api.sock');
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(options.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    relay(client, upstream);
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const argv = ['ip', 'netns', 'exec', options.outsideHost, process.execPath, '-e', FORWARDER, sock, String(options.port)];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await exited;
      }
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`outside-host API forwarder not listening after ${START_TIMEOUT_MS / 1000}s`)), START_TIMEOUT_MS);
      child.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`outside-host API forwarder exited (${signal ?? code}) before listening`));
      });
      child.once('error', reject);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid!, stop };
}
