/** Listener mode's sockets: TCP answers HTTP 200 (plain TCP is accepted too), UDP echoes what it receives. */
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { createServer, type Server } from 'node:http';

import type { ListenerPlan } from '../src/model/outcome.js';

function bindTcp(port: number, podName: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    // An HTTP server also accepts plain TCP connections (non-HTTP bytes get a 400 and a close).
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(`netcheck listener ${podName} port ${port}\n`);
    });
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

function bindUdp(port: number, type: SocketType): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type === 'udp6' ? { type, ipv6Only: false } : { type });
    socket.once('error', reject);
    socket.on('message', (message, peer) => socket.send(message, peer.port, peer.address));
    socket.bind(port, () => resolve(socket));
  });
}

/** Binds every port of the plan; rejects when one cannot be bound. */
export async function serve(plan: ListenerPlan, podName: string): Promise<void> {
  await Promise.all(
    plan.listen.map((l) => {
      if (l.protocol === 'TCP') return bindTcp(l.port, podName);
      // Dual-stack where the pod has IPv6, IPv4 otherwise.
      return bindUdp(l.port, 'udp6').catch(() => bindUdp(l.port, 'udp4'));
    }),
  );
}
