/**
 * Value rules shared by the scenario loader and the CLI flags (e.g. `--timeout 2s`).
 * Each check returns the reason a value is wrong, or undefined when it is fine.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Go's time.ParseDuration syntax (as kubectl's `--request-timeout` and `--timeout`), from milliseconds up. */
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `500ms`, `2s`, `1.5s`, `1m`, `1m30s`, `1h`, `1h2m3s` → milliseconds; undefined when malformed or not positive. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  ms = Math.round(ms);
  return ms > 0 ? ms : undefined;
}

/** A port number: an integer 1–65535. */
export function checkPortNumber(port: number): string | undefined {
  if (!Number.isInteger(port)) return `port ${port} is not an integer`;
  if (port < 1 || port > 65535) return `port ${port} is out of range 1-65535`;
  return undefined;
}

/**
 * A named port follows IANA_SVC_NAME (RFC 6335, as Kubernetes validates container port names):
 * at most 15 characters of a-z, 0-9 and '-', at least one letter, no leading, trailing or double '-'.
 */
export function checkPortName(name: string): string | undefined {
  if (name.length === 0) return 'port name is empty';
  if (name.length > 15) return `port name \`${name}\` is longer than 15 characters`;
  if (!/^[a-z0-9-]+$/.test(name)) return `port name \`${name}\` may contain only a-z, 0-9 and '-'`;
  if (!/[a-z]/.test(name)) return /^\d+$/.test(name)
    ? `port \`${name}\` is a string; write the number without quotes`
    : `port name \`${name}\` must contain at least one letter`;
  if (name.startsWith('-') || name.endsWith('-') || name.includes('--')) return `port name \`${name}\` may not start or end with '-' or contain '--'`;
  return undefined;
}

/** A CIDR, IPv4 or IPv6, with a prefix length that fits the family. */
export function checkCidr(text: string): string | undefined {
  const [ip = '', prefix, ...rest] = text.split('/');
  if (prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) return `bad CIDR \`${text}\`: expected <ip>/<prefix length>`;
  const max = isIPv4(ip) ? 32 : isIPv6(ip) ? 128 : undefined;
  if (max === undefined) return `bad CIDR \`${text}\`: \`${ip}\` is not an IP address`;
  if (Number(prefix) > max) return `bad CIDR \`${text}\`: prefix length must be 0-${max}`;
  return undefined;
}

/** One IPv4 or IPv6 address (the runner's address): no host name, no range. */
export function checkIp(text: string): string | undefined {
  if (isIPv4(text) || isIPv6(text)) return undefined;
  if (text.includes('/')) return `\`${text}\` is a CIDR; give one IP address`;
  return `\`${text}\` is not an IP address`;
}

/** An address target: one IPv4/IPv6 address or a DNS host name (RFC 1123), never a range. */
export function checkAddress(text: string): string | undefined {
  if (text.includes('/')) {
    return checkCidr(text) ?? `\`${text}\` is a CIDR; an address target needs one IP address or host name`;
  }
  if (isIPv4(text) || isIPv6(text)) return undefined;
  if (/^[\d.]+$/.test(text)) return `bad IPv4 address \`${text}\``;
  if (text.includes(':')) return `bad IPv6 address \`${text}\``;
  if (text.length > 253 || !text.split('.').every((part) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i.test(part))) {
    return `bad address \`${text}\`: not an IP address or DNS host name`;
  }
  return undefined;
}

/** A DNS-1123 label: namespaces, scenario names, source and target names. */
export function checkDnsLabel(text: string): string | undefined {
  if (text.length > 63) return `\`${text}\` is longer than 63 characters`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(text)) return `\`${text}\` must be lowercase a-z, 0-9 and '-', starting and ending with a letter or digit`;
  return undefined;
}

/** A DNS-1123 subdomain: workload and Service names, DNS query names. */
export function checkDnsSubdomain(text: string): string | undefined {
  if (text.length > 253) return `\`${text}\` is longer than 253 characters`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(text)) return `\`${text}\` is not a valid DNS name (lowercase a-z, 0-9, '-' and '.')`;
  return undefined;
}

/** A label key: optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function checkLabelKey(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && checkDnsSubdomain(prefix) !== undefined) return `label key \`${key}\` has a bad prefix \`${prefix}\``;
  if (name.length === 0 || name.length > 63 || !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)) {
    return `bad label key \`${key}\`: at most 63 characters of a-z, A-Z, 0-9, '-', '_' and '.', starting and ending alphanumeric`;
  }
  return undefined;
}

/** A label value: empty, or at most 63 characters of a-z, A-Z, 0-9, '-', '_' and '.', starting and ending alphanumeric. */
export function checkLabelValue(value: string): string | undefined {
  if (value.length > 63 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value)) {
    return `bad label value \`${value}\`: at most 63 characters of a-z, A-Z, 0-9, '-', '_' and '.', starting and ending alphanumeric`;
  }
  return undefined;
}
