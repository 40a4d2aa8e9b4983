/**
 * Name resolution the agent does itself. DNS uses dns.Resolver (c-ares) with an explicit timeout and one try, never
 * libc getaddrinfo (it hangs 20-40 s when DNS is dropped and serializes on libuv's 4 threads). resolv.conf
 * search/ndots are applied here: NXDOMAIN/NODATA -> next candidate; timeout, SERVFAIL, REFUSED -> stop and report.
 * A records only. DNS over TCP is a hand-written RFC 7766 query.
 */
import { Resolver } from 'node:dns';
import { connect, isIP } from 'node:net';

import type { AgentCheckKind, Outcome, OutcomeKind } from '../src/model/outcome.js';
import { once } from './once.js';
import { nameCandidates, readResolvConf } from './resolv-conf.js';

type DnsOutcomeKind = Extract<OutcomeKind, `dns-${string}`>;

/**
 * A lookup's answer, or why there is none: a dns-* outcome, `rejected` (the DNS port said no: ECONNREFUSED, not the
 * server's rcode REFUSED), or `error`.
 */
export type Resolution =
  | { addresses: string[] }
  | { fail: Exclude<DnsOutcomeKind, 'dns-rejected'> | 'rejected' }
  | { fail: 'error'; message: string };

/** An error's code and message in one line (`ECONNRESET: read ECONNRESET`), for an `error` outcome. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined ? err.message : `${code}: ${err.message}`;
}

// NODATA (the name exists without an A record) moves on to the next candidate like NXDOMAIN, as libc does.
const DNS_CODES: Record<string, Resolution> = {
  ENOTFOUND: { fail: 'dns-nxdomain' },
  ENODATA: { fail: 'dns-nxdomain' },
  ETIMEOUT: { fail: 'dns-timeout' },
  ECANCELLED: { fail: 'dns-timeout' },
  ESERVFAIL: { fail: 'dns-servfail' },
  EREFUSED: { fail: 'dns-refused' },
  ECONNREFUSED: { fail: 'rejected' },
};

const RCODES: Record<number, Resolution> = {
  2: { fail: 'dns-servfail' },
  3: { fail: 'dns-nxdomain' },
  5: { fail: 'dns-refused' },
};

function queryUdp(name: string, nameservers: string[], ms: number): Promise<Resolution> {
  return new Promise((resolve) => {
    const resolver = new Resolver({ timeout: Math.max(1, Math.round(ms)), tries: 1 });
    resolver.setServers(nameservers);
    // c-ares tries each nameserver in turn; the check's budget is the ceiling for all of them.
    const timer = setTimeout(() => resolver.cancel(), ms);
    resolver.resolve4(name, (err, addresses) => {
      clearTimeout(timer);
      if (!err) resolve({ addresses });
      else resolve(DNS_CODES[err.code ?? ''] ?? { fail: 'error', message: describeError(err) });
    });
  });
}

/** A query for the A record of `name`, recursion desired. */
export function encodeQuery(name: string, id: number): Buffer {
  const parts = [Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])]; // RD, one question
  for (const label of name.split('.').filter(Boolean)) {
    const bytes = Buffer.from(label, 'utf8');
    if (bytes.length > 63) throw new Error(`DNS label longer than 63 bytes in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0, 0, 1, 0, 1])); // root, QTYPE A, QCLASS IN
  return Buffer.concat(parts);
}

function skipName(buf: Buffer, offset: number): number {
  for (;;) {
    const len = buf[offset];
    if (len === undefined) throw new Error('truncated DNS response');
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) return offset + 2; // compression pointer ends the name
    offset += len + 1;
  }
}

function decodeResponse(buf: Buffer, id: number): { rcode: number; addresses: string[] } {
  if (buf.length < 12 || buf.readUInt16BE(0) !== id) throw new Error('DNS response does not match the query');
  const rcode = buf[3]! & 15;
  let offset = 12;
  for (let i = buf.readUInt16BE(4); i > 0; i--) offset = skipName(buf, offset) + 4;
  const addresses: string[] = [];
  for (let i = buf.readUInt16BE(6); i > 0; i--) {
    offset = skipName(buf, offset);
    const type = buf.readUInt16BE(offset);
    const length = buf.readUInt16BE(offset + 8);
    if (type === 1 && length === 4) addresses.push(Array.from(buf.subarray(offset + 10, offset + 14)).join('.'));
    offset += 10 + length;
  }
  return { rcode, addresses };
}

function tcpFailure(err: NodeJS.ErrnoException): Resolution {
  if (err.code === 'ECONNREFUSED') return { fail: 'rejected' };
  // A reset after the server accepted: it refused to serve.
  if (err.code === 'ECONNRESET') return { fail: 'dns-refused' };
  if (err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') {
    return { fail: 'dns-timeout' };
  }
  return { fail: 'error', message: describeError(err) };
}

/** A DNS query over TCP (RFC 7766): 2-byte length prefix, A record, one nameserver. */
function queryTcp(name: string, server: string, ms: number): Promise<Resolution> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 65536);
    const query = encodeQuery(name, id);
    const socket = connect({ host: server, port: 53 });
    let received = Buffer.alloc(0);
    const finish = once((result: Resolution) => {
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
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
      try {
        const { rcode, addresses } = decodeResponse(received.subarray(2, 2 + received.readUInt16BE(0)), id);
        if (rcode === 0) finish(addresses.length > 0 ? { addresses } : { fail: 'dns-nxdomain' });
        else finish(RCODES[rcode] ?? { fail: 'error', message: `DNS rcode ${rcode}` });
      } catch (err) {
        finish({ fail: 'error', message: describeError(err) });
      }
    });
    const unanswered = 'DNS server closed the TCP connection without an answer';
    socket.on('end', () => finish({ fail: 'error', message: unanswered }));
    socket.on('error', (err) => finish(tcpFailure(err)));
  });
}

/**
 * The A records of `name` (an IP resolves to itself), trying the search list within one budget of `ms`.
 * `server` replaces resolv.conf's nameservers; over TCP only the first nameserver is asked.
 */
export async function resolveName(
  name: string,
  protocol: 'TCP' | 'UDP',
  ms: number,
  server?: string,
): Promise<Resolution> {
  if (isIP(name)) return { addresses: [name] };
  const conf = server ? { ...readResolvConf(), nameservers: [server] } : readResolvConf();
  const deadline = Date.now() + ms;
  for (const candidate of nameCandidates(name, conf)) {
    const left = deadline - Date.now();
    if (left <= 0) return { fail: 'dns-timeout' };
    const result =
      protocol === 'TCP' ? await queryTcp(candidate, conf.nameservers[0]!, left) : await queryUdp(candidate, conf.nameservers, left);
    if ('addresses' in result || result.fail !== 'dns-nxdomain') return result;
  }
  return { fail: 'dns-nxdomain' };
}

/**
 * A failed lookup as the check's outcome. A port that refused the query is the `dns` check's own `refused`, but
 * `dns-rejected` when the lookup only resolved the name to connect to: a DNS fault (no server answered), never
 * "blocked".
 */
export type FailedResolution = Exclude<Resolution, { addresses: string[] }>;

export function dnsOutcome(failed: FailedResolution, checkKind: AgentCheckKind): Outcome {
  if (failed.fail === 'error') return { kind: 'error', message: `dns: ${failed.message}` };
  if (failed.fail === 'rejected') return { kind: checkKind === 'dns' ? 'refused' : 'dns-rejected' };
  return { kind: failed.fail };
}
