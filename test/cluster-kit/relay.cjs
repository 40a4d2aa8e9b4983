// A byte relay between a TCP address and a unix socket, run inside a network namespace: a unix socket crosses
// network namespaces where TCP loopback does not, so this is how the API server (in the control plane's
// namespace) is reached at 127.0.0.1:PORT from the root namespace and from the outside host, with no address,
// route or rule added anywhere.
//   node relay.cjs unix-to-tcp SOCKET HOST:PORT   listen on SOCKET, connect to HOST:PORT
//   node relay.cjs tcp-to-unix HOST:PORT SOCKET   listen on HOST:PORT, connect to SOCKET
'use strict';
const net = require('node:net');
const fs = require('node:fs');

const [mode, from, to] = process.argv.slice(2);
const hostPort = (s) => {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
};
function relay(client, connect) {
  const upstream = connect();
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}
let server;
if (mode === 'unix-to-tcp') {
  const { host, port } = hostPort(to);
  fs.rmSync(from, { force: true });
  server = net.createServer((c) => relay(c, () => net.connect(port, host))).listen(from);
} else if (mode === 'tcp-to-unix') {
  const { host, port } = hostPort(from);
  server = net.createServer((c) => relay(c, () => net.connect(to))).listen(port, host);
} else {
  process.stderr.write(`relay: unknown mode ${mode}: use unix-to-tcp SOCKET HOST:PORT or tcp-to-unix HOST:PORT SOCKET\n`);
  process.exit(2);
}
server.on('error', (err) => {
  process.stderr.write(`relay: ${err.message}\n`);
  process.exit(1);
});
