'use strict';
/*
 * netcheck probe agent: plain CommonJS, Node >= 18 builtins only. It travels in a probe pod's container args
 * (`node -e <source> run '<plan>'`), so any image with `node` runs it. Wire types: src/model/outcome.ts.
 *   run '<AgentPlan>'       one JSON line per check as it completes, then {"done":true,"checks":N,"ms":T}
 *   listen '<ListenerPlan>' TCP (HTTP 200, plain TCP accepted) and UDP echo until SIGTERM
 * Exit: 0 the plan ran (whatever the outcomes), 2 malformed plan, 1 a listener could not bind.
 *
 * Choices worth knowing:
 * - DNS uses dns.Resolver (c-ares) with an explicit timeout and one try, never libc getaddrinfo (it hangs
 *   20-40 s when DNS is dropped and serializes on libuv's 4 threads). resolv.conf search/ndots are applied
 *   here: NXDOMAIN/NODATA -> next candidate; timeout, SERVFAIL, REFUSED -> stop and report. A records only.
 * - ECONNREFUSED from the DNS server (ICMP over UDP, RST over TCP; a REJECTing CNI, or no server) is `refused`
 *   for a `dns` check, `dns-rejected` when resolving a tcp/http/udp target (a DNS fault, never "blocked"; no DNS
 *   server answered); an rcode REFUSED answer is `dns-refused` (a server answered). A TCP DNS connect that times
 *   out or is unreachable is `dns-timeout`.
 * - A name that does not resolve gives the dns-* outcome for tcp/http/udp too, never "blocked". Resolution and
 *   connection each get timeoutMs, so slow DNS never becomes `timeout`.
 * - http: after the TCP handshake the path is open; a server that then stays silent (or resets) is `connected`.
 * - udp: reply -> `connected`, ICMP port unreachable -> `refused`, silence -> `timeout`. Ambiguous: a listener
 *   that never answers looks like a dropped packet. Port 53 gets a real DNS query so DNS servers answer.
 * - Retries: when `expect` disagrees with the outcome (OPEN/BLOCKED below), the check runs again, up to
 *   plan.retries times, attempts >= 1 s apart; every attempt is reported. plan.settleMs delays the first.
 */
const dgram = require('node:dgram');
const dns = require('node:dns');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');

const KINDS = ['dns', 'tcp', 'http', 'udp', 'resolv'];

let resolvConf;
function readResolvConf() {
  if (resolvConf) return resolvConf;
  const conf = { nameservers: [], search: [], ndots: 1, options: [] };
  let text = '';
  try {
    text = fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // none: libc's defaults below
  }
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw.replace(/[#;].*/, '').trim().split(/\s+/);
    if (key === 'nameserver' && rest[0]) conf.nameservers.push(rest[0]);
    // resolv.conf(5): search/domain, last one wins
    else if (key === 'search' || key === 'domain') conf.search = rest.filter(Boolean);
    else if (key === 'options') {
      conf.options.push(...rest.filter(Boolean));
      for (const option of rest) {
        const m = /^ndots:(\d+)$/.exec(option);
        if (m) conf.ndots = Math.min(Number(m[1]), 15); // resolv.conf(5) caps ndots at 15
      }
    }
  }
  conf.found = text !== '';
  if (conf.nameservers.length === 0) conf.nameservers.push('127.0.0.1');
  return (resolvConf = conf);
}

/** The names the resolver tries, in order (resolv.conf(5) search/ndots rules). */
function nameCandidates(name, conf) {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = name.split('.').length - 1;
  const searched = conf.search.map((domain) => `${name}.${domain.replace(/\.$/, '')}`);
  return dots >= conf.ndots ? [name, ...searched] : [...searched, name];
}

// NODATA (the name exists without an A record) moves on to the next candidate like NXDOMAIN, as libc does.
// `rejected`: the port said no (ECONNREFUSED), not the server (rcode REFUSED).
const DNS_CODES = {
  ENOTFOUND: 'dns-nxdomain', ENODATA: 'dns-nxdomain', ETIMEOUT: 'dns-timeout', ECANCELLED: 'dns-timeout',
  ESERVFAIL: 'dns-servfail', EREFUSED: 'dns-refused', ECONNREFUSED: 'rejected',
};

function queryUdp(name, conf, ms) {
  return new Promise((resolve) => {
    const resolver = new dns.Resolver({ timeout: Math.max(1, Math.round(ms)), tries: 1 });
    resolver.setServers(conf.nameservers);
    // c-ares tries each nameserver in turn; the check's budget is the ceiling for all of them.
    const timer = setTimeout(() => resolver.cancel(), ms);
    resolver.resolve4(name, (err, addresses) => {
      clearTimeout(timer);
      if (!err) resolve({ addresses });
      else resolve({ fail: DNS_CODES[err.code] || 'error', message: `${err.code}: ${err.message}` });
    });
  });
}

function encodeQuery(name, id) {
  const parts = [Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])]; // RD, one question
  for (const label of name.split('.').filter(Boolean)) {
    const bytes = Buffer.from(label, 'utf8');
    if (bytes.length > 63) throw new Error(`DNS label longer than 63 bytes in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0, 0, 1, 0, 1])); // root, QTYPE A, QCLASS IN
  return Buffer.concat(parts);
}

function skipName(buf, offset) {
  for (;;) {
    const len = buf[offset];
    if (len === undefined) throw new Error('truncated DNS response');
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) return offset + 2; // compression pointer ends the name
    offset += len + 1;
  }
}

function decodeResponse(buf, id) {
  if (buf.length < 12 || buf.readUInt16BE(0) !== id) throw new Error('DNS response does not match the query');
  const rcode = buf[3] & 15;
  let offset = 12;
  for (let i = buf.readUInt16BE(4); i > 0; i--) offset = skipName(buf, offset) + 4;
  const addresses = [];
  for (let i = buf.readUInt16BE(6); i > 0; i--) {
    offset = skipName(buf, offset);
    const type = buf.readUInt16BE(offset);
    const length = buf.readUInt16BE(offset + 8);
    if (type === 1 && length === 4) addresses.push(Array.from(buf.subarray(offset + 10, offset + 14)).join('.'));
    offset += 10 + length;
  }
  return { rcode, addresses };
}

const RCODES = { 2: 'dns-servfail', 3: 'dns-nxdomain', 5: 'dns-refused' };

/** A DNS query over TCP (RFC 7766): 2-byte length prefix, A record, first nameserver. */
function queryTcp(name, server, ms) {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 65536);
    const query = encodeQuery(name, id);
    const socket = net.connect({ host: server, port: 53 });
    let received = Buffer.alloc(0);
    const finish = once((result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    });
    const timer = setTimeout(() => finish({ fail: 'dns-timeout' }), ms);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
      try {
        const { rcode, addresses } = decodeResponse(received.subarray(2, 2 + received.readUInt16BE(0)), id);
        if (rcode === 0) finish(addresses.length > 0 ? { addresses } : { fail: 'dns-nxdomain' });
        else finish({ fail: RCODES[rcode] || 'error', message: `DNS rcode ${rcode}` });
      } catch (err) {
        finish({ fail: 'error', message: err.message });
      }
    });
    socket.on('end', () => finish({ fail: 'error', message: 'DNS server closed the TCP connection without an answer' }));
    socket.on('error', (err) => {
      // A reset after the server accepted: it refused to serve.
      if (err.code === 'ECONNREFUSED') finish({ fail: 'rejected' });
      else if (err.code === 'ECONNRESET') finish({ fail: 'dns-refused' });
      else if (err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') finish({ fail: 'dns-timeout' });
      else finish({ fail: 'error', message: `${err.code}: ${err.message}` });
    });
  });
}

async function resolveName(name, protocol, ms, server) {
  if (net.isIP(name)) return { addresses: [name] };
  const conf = server ? { ...readResolvConf(), nameservers: [server] } : readResolvConf();
  const deadline = Date.now() + ms;
  for (const candidate of nameCandidates(name, conf)) {
    const left = deadline - Date.now();
    if (left <= 0) return { fail: 'dns-timeout' };
    const result = protocol === 'TCP' ? await queryTcp(candidate, conf.nameservers[0], left) : await queryUdp(candidate, conf, left);
    if (result.addresses || result.fail !== 'dns-nxdomain') return result;
  }
  return { fail: 'dns-nxdomain' };
}

function dnsOutcome(result, checkKind) {
  if (result.fail === 'error') return { kind: 'error', message: `dns: ${result.message}` };
  if (result.fail === 'rejected') return { kind: checkKind === 'dns' ? 'refused' : 'dns-rejected' };
  return { kind: result.fail };
}

function socketFailure(err) {
  switch (err.code) {
    case 'ECONNREFUSED': return { kind: 'refused' };
    case 'ETIMEDOUT': return { kind: 'timeout' };
    // EPERM/EACCES: a local firewall rejected the packet before it left - blocked, like unreachable.
    case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EPERM': case 'EACCES':
      return { kind: 'unreachable', code: err.code };
    default: return { kind: 'error', message: `${err.code || 'error'}: ${err.message}` };
  }
}

function once(fn) {
  let called = false;
  return (value) => {
    if (called) return;
    called = true;
    fn(value);
  };
}

function connectTcp(address, port, ms) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const finish = once((outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), ms);
    socket.on('connect', () => finish({ kind: 'connected' }));
    socket.on('error', (err) => finish(socketFailure(err)));
  });
}

function getHttp(address, port, host, path, ms) {
  return new Promise((resolve) => {
    let connected = false;
    const hostHeader = (net.isIPv6(host) ? `[${host}]` : host) + (port === 80 ? '' : `:${port}`);
    const req = http.request({
      host: address, port, path, method: 'GET', agent: false,
      headers: { Host: hostHeader, Connection: 'close', 'User-Agent': 'netcheck-agent' },
    });
    const finish = once((outcome) => {
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    });
    const timer = setTimeout(() => finish(connected ? { kind: 'connected' } : { kind: 'timeout' }), ms);
    req.on('socket', (socket) => socket.on('connect', () => (connected = true)));
    req.on('response', (res) => {
      res.resume();
      finish({ kind: 'http', status: res.statusCode });
    });
    req.on('error', (err) => finish(connected ? { kind: 'connected' } : socketFailure(err)));
    req.end();
  });
}

function probeUdp(address, port, ms) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    const finish = once((outcome) => {
      clearTimeout(timer);
      try { socket.close(); } catch { /* already closed by the error */ }
      resolve(outcome);
    });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), ms);
    socket.on('error', (err) => finish(socketFailure(err)));
    socket.on('message', () => finish({ kind: 'connected' }));
    const payload = port === 53 ? encodeQuery('netcheck-probe.invalid', 4242) : Buffer.from('netcheck\n');
    // Connected: so the kernel reports ICMP port unreachable (ECONNREFUSED).
    socket.connect(port, address, (err) => {
      if (err) finish(socketFailure(err));
      else socket.send(payload, (sendErr) => sendErr && finish(socketFailure(sendErr)));
    });
  });
}

async function attemptCheck(check) {
  if (check.kind === 'resolv') {
    const { found, ...resolv } = readResolvConf();
    return { outcome: found ? { kind: 'resolved', addresses: resolv.nameservers } : { kind: 'error', message: 'no /etc/resolv.conf' }, resolv };
  }
  const named = !net.isIP(check.target);
  const resolved = await resolveName(check.target, check.kind === 'dns' ? check.protocol : 'UDP', check.timeoutMs, check.server);
  if (!resolved.addresses) return { outcome: dnsOutcome(resolved, check.kind) };
  const address = resolved.addresses[0];
  const withAddress = (outcome) => (named ? { outcome, address } : { outcome });
  switch (check.kind) {
    case 'dns': return withAddress({ kind: 'resolved', addresses: resolved.addresses });
    case 'tcp': return withAddress(await connectTcp(address, check.port, check.timeoutMs));
    case 'http': {
      const path = (check.http && check.http.path) || '/';
      return withAddress(await getHttp(address, check.port, check.target, path, check.timeoutMs));
    }
    case 'udp': return withAddress(await probeUdp(address, check.port, check.timeoutMs));
    default: return { outcome: { kind: 'error', message: `unknown check kind ${check.kind}` } };
  }
}

// A refusal agrees with deny (a REJECTing CNI enforced it), not allow (a listener still starting: retry).
// dns-* and error agree with neither.
const OPEN = ['connected', 'http', 'resolved'];
const BLOCKED = ['timeout', 'unreachable', 'refused'];
function agrees(expect, outcome) {
  return (expect === 'allow' ? OPEN : BLOCKED).includes(outcome.kind);
}

function checkProblem(check) {
  if (!KINDS.includes(check.kind)) return `kind must be one of ${KINDS.join(', ')}`;
  if (typeof check.target !== 'string' || check.target === '') return 'target must be a non-empty string';
  if (typeof check.timeoutMs !== 'number' || !(check.timeoutMs > 0) || !Number.isFinite(check.timeoutMs)) return 'timeoutMs must be a positive number';
  const portless = check.kind === 'dns' || check.kind === 'resolv';
  if (!portless && !(Number.isInteger(check.port) && check.port >= 1 && check.port <= 65535)) return 'port must be an integer 1-65535';
  if (check.protocol !== undefined && check.protocol !== 'TCP' && check.protocol !== 'UDP') return 'protocol must be TCP or UDP';
  if (check.expect !== undefined && check.expect !== 'allow' && check.expect !== 'deny') return 'expect must be allow or deny';
  if (check.fallback !== undefined && (typeof check.fallback !== 'string' || !net.isIP(check.fallback))) return 'fallback must be an IP address';
  if (check.server !== undefined && (check.kind !== 'dns' || !net.isIP(String(check.server)))) return 'server: an IP, dns checks only';
  if (check.http !== undefined && (typeof check.http !== 'object' || check.http === null || typeof check.http.path !== 'string' || !check.http.path.startsWith('/'))) return 'http.path must start with /';
  return undefined;
}

const RETRY_SPACING_MS = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function runCheck(check, retries) {
  const problem = checkProblem(check);
  if (problem) {
    const outcome = { kind: 'error', message: `bad check: ${problem}` };
    return { id: check.id, outcome, attempts: [{ outcome, ms: 0 }] };
  }
  const attempts = [];
  for (let i = 0; i <= retries; i++) {
    const start = Date.now();
    let result;
    try {
      result = await attemptCheck(check);
    } catch (err) {
      result = { outcome: { kind: 'error', message: String((err && err.message) || err) } };
    }
    const ms = Date.now() - start;
    attempts.push({ outcome: result.outcome, ms, address: result.address });
    if (result.resolv) return { id: check.id, outcome: result.outcome, attempts, resolv: result.resolv };
    if (!check.expect || agrees(check.expect, result.outcome)) break;
    if (i < retries && ms < RETRY_SPACING_MS) await sleep(RETRY_SPACING_MS - ms);
  }
  const outcome = attempts[attempts.length - 1].outcome;
  // Name did not resolve: one try at check.fallback (the ClusterIP) says if the path is open.
  if (check.fallback && check.kind !== 'dns' && outcome.kind.startsWith('dns-')) {
    const t = Date.now();
    const f = await attemptCheck({ ...check, target: check.fallback }).catch((e) => ({ outcome: { kind: 'error', message: String(e && e.message) } }));
    return { id: check.id, outcome, attempts, fallback: { target: check.fallback, outcome: f.outcome, ms: Date.now() - t } };
  }
  return { id: check.id, outcome, attempts };
}

function parseJsonObject(text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${err.message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value;
}

function parsePlan(text) {
  const plan = parseJsonObject(text, 'plan');
  if (!Array.isArray(plan.checks)) throw new Error('plan.checks must be an array');
  const retries = plan.retries === undefined ? 0 : plan.retries;
  if (!Number.isInteger(retries) || retries < 0) throw new Error('plan.retries must be a non-negative integer');
  const ids = new Set();
  for (const [i, check] of plan.checks.entries()) {
    if (typeof check !== 'object' || check === null || typeof check.id !== 'string' || check.id === '') throw new Error(`plan.checks[${i}] needs a string id`);
    if (ids.has(check.id)) throw new Error(`plan.checks[${i}]: duplicate id ${check.id}`);
    ids.add(check.id);
  }
  const settleMs = plan.settleMs === undefined ? 0 : plan.settleMs;
  if (!Number.isInteger(settleMs) || settleMs < 0) throw new Error('plan.settleMs must be a non-negative integer');
  return { checks: plan.checks, retries, settleMs };
}

function parseListenerPlan(text) {
  const plan = parseJsonObject(text, 'listener plan');
  if (!Array.isArray(plan.listen) || plan.listen.length === 0) throw new Error('listener plan.listen must be a non-empty array');
  for (const [i, l] of plan.listen.entries()) {
    if (typeof l !== 'object' || l === null || !Number.isInteger(l.port) || l.port < 1 || l.port > 65535) throw new Error(`listen[${i}].port must be an integer 1-65535`);
    if (l.protocol !== 'TCP' && l.protocol !== 'UDP') throw new Error(`listen[${i}].protocol must be TCP or UDP`);
  }
  return { listen: plan.listen.map((l) => ({ port: l.port, protocol: l.protocol })) };
}

function emit(value, callback) {
  process.stdout.write(`${JSON.stringify(value)}\n`, callback);
}

function failUsage(message) {
  process.stderr.write(`netcheck agent: ${message}\n`);
  emit({ error: message });
  process.exitCode = 2;
}

async function runPlan(text) {
  let plan;
  try {
    plan = parsePlan(text);
  } catch (err) {
    return failUsage(err.message);
  }
  await sleep(plan.settleMs);
  const start = Date.now();
  await Promise.all(plan.checks.map(async (check) => emit(await runCheck(check, plan.retries))));
  // Exit explicitly: a straggling socket must not keep a probe pod alive after its plan ran.
  emit({ done: true, checks: plan.checks.length, ms: Date.now() - start }, () => process.exit(0));
}

function bindTcp(port, podName) {
  return new Promise((resolve, reject) => {
    // An HTTP server also accepts plain TCP connections (non-HTTP bytes get a 400 and a close).
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(`netcheck listener ${podName} port ${port}\n`);
    });
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}

function bindUdp(port, type) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(type === 'udp6' ? { type, ipv6Only: false } : { type });
    socket.once('error', reject);
    socket.on('message', (message, peer) => socket.send(message, peer.port, peer.address));
    socket.bind(port, () => resolve(socket));
  });
}

async function listen(text) {
  let plan;
  try {
    plan = parseListenerPlan(text);
  } catch (err) {
    return failUsage(err.message);
  }
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0)); // PID 1 has no default handler
  const podName = process.env.POD_NAME || os.hostname();
  try {
    await Promise.all(plan.listen.map((l) => {
      if (l.protocol === 'TCP') return bindTcp(l.port, podName);
      // Dual-stack where the pod has IPv6, IPv4 otherwise.
      return bindUdp(l.port, 'udp6').catch(() => bindUdp(l.port, 'udp4'));
    }));
  } catch (err) {
    process.stderr.write(`netcheck agent: cannot listen: ${err.message}\n`);
    emit({ error: `cannot listen: ${err.message}` }, () => process.exit(1));
    return;
  }
  emit({ listening: plan.listen });
}

function main(args) {
  const [mode, plan] = args;
  if (mode === 'run' && plan !== undefined) return runPlan(plan);
  if (mode === 'listen' && plan !== undefined) return listen(plan);
  return failUsage("usage: agent.cjs run '<plan json>' | listen '<listener plan json>'");
}

// As a file, argv is [node, file, mode, plan]; under `node -e <source>` there is no file: [node, mode, plan].
// When another module requires this file, nothing runs (tests reach the helpers through the exports).
if (__filename === '[eval]') main(process.argv.slice(1));
else if (require.main === module) main(process.argv.slice(2));

module.exports = { nameCandidates, runCheck };
