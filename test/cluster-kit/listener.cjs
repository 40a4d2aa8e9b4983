#!/usr/bin/env node
'use strict';
/**
 * The test cluster's workload responder (image netcheck.local/listener): no dependencies, so it runs on the
 * bare node image.
 *
 *   node listener.cjs PORT[/PROTO]...      e.g. 8080/TCP 53/UDP 9000   (no proto = TCP)
 *
 * Every port is served on all addresses, IPv6 and IPv4 where the pod has IPv6, IPv4 alone where it has not.
 * TCP: an HTTP server answering any request with 200 `ok\n` (so `/`, `/health` and readiness probes pass);
 * it also accepts raw TCP connections, which is all a connect-only check needs. UDP: each datagram is echoed
 * back to its sender.
 * Exit: 2 a bad argument (one line naming it), 1 a port could not be bound, 0 on SIGTERM/SIGINT.
 */
const dgram = require('node:dgram');
const http = require('node:http');

function usage(message) {
  process.stderr.write(`listener: ${message} (usage: listener.cjs PORT[/TCP|/UDP]...)\n`);
  process.exit(2);
}

/** `8080/TCP` → { port: 8080, protocol: 'TCP' }; throws with the argument named when it is not one. */
function parseListen(arg) {
  const match = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(arg);
  const port = match ? Number(match[1]) : NaN;
  if (!match || port < 1 || port > 65535) throw new Error(`bad argument ${JSON.stringify(arg)}: want PORT or PORT/TCP or PORT/UDP, port 1-65535`);
  return { port, protocol: (match[2] || 'TCP').toUpperCase() };
}

function parseArgs(args) {
  if (args.length === 0) throw new Error('no ports given');
  const seen = new Set();
  return args.map((arg) => {
    const l = parseListen(arg);
    const key = `${l.port}/${l.protocol}`;
    if (seen.has(key)) throw new Error(`bad argument ${JSON.stringify(arg)}: ${key} given twice`);
    seen.add(key);
    return l;
  });
}

/** Listens on `::` (dual-stack) and falls back to 0.0.0.0 where the pod has no IPv6. */
function bindTcp(port) {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '3' });
    res.end(req.method === 'HEAD' ? undefined : 'ok\n');
  });
  // Bytes that are not HTTP end the connection quietly instead of an unhandled error.
  server.on('clientError', (_err, socket) => socket.destroy());
  const listenOn = (host) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, ipv6Only: false }, () => {
        server.removeListener('error', reject);
        resolve(server);
      });
    });
  return listenOn('::').catch((err) => (noIpv6(err) ? listenOn('0.0.0.0') : Promise.reject(err)));
}

function bindUdp(port) {
  const bindAs = (type, address) =>
    new Promise((resolve, reject) => {
      const socket = dgram.createSocket(type === 'udp6' ? { type, ipv6Only: false } : { type });
      socket.once('error', reject);
      socket.on('message', (message, peer) => socket.send(message, peer.port, peer.address));
      socket.bind(port, address, () => {
        socket.removeListener('error', reject);
        resolve(socket);
      });
    });
  return bindAs('udp6', '::').catch((err) => (noIpv6(err) ? bindAs('udp4', '0.0.0.0') : Promise.reject(err)));
}

function noIpv6(err) {
  return err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL' || err.code === 'EPROTONOSUPPORT';
}

async function main(args) {
  let listens;
  try {
    listens = parseArgs(args);
  } catch (err) {
    return usage(err.message);
  }
  // As PID 1 in a container node gets no default signal handling: stop at once, nothing to drain.
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
  try {
    await Promise.all(listens.map((l) => (l.protocol === 'TCP' ? bindTcp(l.port) : bindUdp(l.port))));
  } catch (err) {
    process.stderr.write(`listener: cannot listen: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listener: listening on ${listens.map((l) => `${l.port}/${l.protocol}`).join(' ')}\n`);
}

if (require.main === module) main(process.argv.slice(2));

module.exports = { parseListen };
