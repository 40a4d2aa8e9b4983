/**
 * One attempt at a path, by address: a TCP handshake, an HTTP GET, a UDP datagram. Each settles on its first
 * answer or at its timeout, and always frees its socket.
 * - http: after the TCP handshake the path is open; a server that then stays silent (or resets) is `connected`.
 * - udp: reply -> `connected`, ICMP port unreachable -> `refused`, silence -> `timeout`. Ambiguous: a listener
 *   that never answers looks like a dropped packet. Port 53 gets a real DNS query so DNS servers answer.
 */
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { connect, isIPv6 } from 'node:net';

import type { Outcome } from '../src/model/outcome.js';
import { encodeQuery } from './dns.js';
import { once } from './once.js';

function socketFailure(err: NodeJS.ErrnoException): Outcome {
  switch (err.code) {
    case 'ECONNREFUSED':
      return { kind: 'refused' };
    case 'ETIMEDOUT':
      return { kind: 'timeout' };
    // EPERM/EACCES: a local firewall rejected the packet before it left - blocked, like unreachable.
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EPERM':
    case 'EACCES':
      return { kind: 'unreachable', code: err.code };
    default:
      return { kind: 'error', message: `${err.code ?? 'error'}: ${err.message}` };
  }
}

export function connectTcp(address: string, port: number, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const finish = once((outcome: Outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), ms);
    socket.on('connect', () => finish({ kind: 'connected' }));
    socket.on('error', (err) => finish(socketFailure(err)));
  });
}

/** GET `path` from address:port with `host` in the Host header (the name the check was given). */
export function getHttp(address: string, port: number, host: string, path: string, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let connected = false;
    const hostHeader = (isIPv6(host) ? `[${host}]` : host) + (port === 80 ? '' : `:${port}`);
    const req = request({
      host: address,
      port,
      path,
      method: 'GET',
      agent: false,
      headers: { Host: hostHeader, Connection: 'close', 'User-Agent': 'netcheck-agent' },
    });
    const finish = once((outcome: Outcome) => {
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    });
    const timer = setTimeout(() => finish(connected ? { kind: 'connected' } : { kind: 'timeout' }), ms);
    req.on('socket', (socket) => socket.on('connect', () => (connected = true)));
    req.on('response', (res) => {
      res.resume();
      finish({ kind: 'http', status: res.statusCode ?? 0 });
    });
    req.on('error', (err) => finish(connected ? { kind: 'connected' } : socketFailure(err)));
    req.end();
  });
}

export function probeUdp(address: string, port: number, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    const finish = once((outcome: Outcome) => {
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed by the error
      }
      resolve(outcome);
    });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), ms);
    socket.on('error', (err) => finish(socketFailure(err)));
    socket.on('message', () => finish({ kind: 'connected' }));
    const payload = port === 53 ? encodeQuery('netcheck-probe.invalid', 4242) : Buffer.from('netcheck\n');
    socket.on('connect', () => socket.send(payload, (sendErr) => sendErr && finish(socketFailure(sendErr))));
    // Connected: so the kernel reports ICMP port unreachable (ECONNREFUSED). A failure to connect is an 'error' event.
    socket.connect(port, address);
  });
}
