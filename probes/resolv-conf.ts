/** The pod's /etc/resolv.conf and the libc rules for the names a lookup tries (resolv.conf(5)). */
import { readFileSync } from 'node:fs';

import type { ResolvConf } from '../src/model/outcome.js';

/** resolv.conf as the agent read it; `found` is false when there was no file (libc's defaults apply). */
export interface LocalResolvConf extends ResolvConf {
  found: boolean;
}

/** Pure: the file's text to its settings; no nameserver means 127.0.0.1, as in libc. */
export function parseResolvConf(text: string): LocalResolvConf {
  const conf: LocalResolvConf = { nameservers: [], search: [], ndots: 1, options: [], found: text !== '' };
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
  if (conf.nameservers.length === 0) conf.nameservers.push('127.0.0.1');
  return conf;
}

let cached: LocalResolvConf | undefined;

/** /etc/resolv.conf, read once per agent process. */
export function readResolvConf(): LocalResolvConf {
  if (cached) return cached;
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // none: libc's defaults
  }
  return (cached = parseResolvConf(text));
}

/** The names the resolver tries, in order (resolv.conf(5) search/ndots rules). */
export function nameCandidates(name: string, conf: Pick<ResolvConf, 'search' | 'ndots'>): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const dots = name.split('.').length - 1;
  const searched = conf.search.map((domain) => `${name}.${domain.replace(/\.$/, '')}`);
  return dots >= conf.ndots ? [name, ...searched] : [...searched, name];
}
