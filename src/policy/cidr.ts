/**
 * IPv4/IPv6 addresses and CIDRs as bigints, for ipBlock matching (cidr minus except).
 * An IPv4 address never matches an IPv6 block and vice versa (Kubernetes treats the families apart).
 */
export interface ParsedAddress {
  family: 4 | 6;
  value: bigint;
}

export interface ParsedCidr {
  family: 4 | 6;
  /** Network address (host bits cleared). */
  network: bigint;
  prefix: number;
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  let body = text;
  // An embedded IPv4 tail (::ffff:10.0.0.1) stands for the last two 16-bit groups.
  const lastColon = body.lastIndexOf(':');
  const v4Text = body.slice(lastColon + 1);
  if (v4Text.includes('.')) {
    const v4 = parseIPv4(v4Text);
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): bigint[] | undefined => {
    if (s === '') return [];
    const out: bigint[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(parseInt(g, 16)));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (total > 7) return undefined;
    groups = [...head, ...new Array<bigint>(8 - total).fill(0n), ...rest];
  } else {
    if (total !== 8) return undefined;
    groups = head;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

export function parseAddress(text: string): ParsedAddress | undefined {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const value = parseIPv6(trimmed);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIPv4(trimmed);
  return value === undefined ? undefined : { family: 4, value };
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const [addr, prefixText, ...extra] = text.trim().split('/');
  if (addr === undefined || extra.length > 0) return undefined;
  const parsed = parseAddress(addr);
  if (!parsed) return undefined;
  const bits = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const network = (parsed.value >> hostBits) << hostBits;
  return { family: parsed.family, network, prefix };
}

export function cidrContains(cidr: ParsedCidr, address: ParsedAddress): boolean {
  if (cidr.family !== address.family) return false;
  const hostBits = BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix);
  return (address.value >> hostBits) === (cidr.network >> hostBits);
}

/** Whether every address of `inner` lies in `outer`. */
export function cidrCovers(outer: ParsedCidr, inner: ParsedCidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && cidrContains(outer, { family: inner.family, value: inner.network });
}

/** Whether the two blocks share an address (for CIDRs: one holds the other). */
export function cidrsOverlap(a: ParsedCidr, b: ParsedCidr): boolean {
  return cidrCovers(a, b) || cidrCovers(b, a);
}
