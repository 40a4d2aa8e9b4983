/**
 * Cluster DNS records as a hosts file for dnsmasq (`--addn-hosts`): the names CoreDNS's kubernetes plugin
 * answers for Services. Unknown names under cluster.local get NXDOMAIN from dnsmasq's `--local=/cluster.local/`.
 */
import type { ServiceEndpoints } from '../types.js';
import { isIPv4 } from './ruleset.js';

/** The API server's Service, answered even when the lab's state does not list it. */
const DEFAULT_KUBERNETES_IP = '10.96.0.1';

export function renderDnsHosts(services: ServiceEndpoints[]): string {
  const records = new Map<string, Set<string>>();
  const add = (name: string, ip: string): void => {
    if (!isIPv4(ip)) return;
    const set = records.get(name) ?? new Set<string>();
    set.add(ip);
    records.set(name, set);
  };
  for (const svc of services) {
    const name = `${svc.name}.${svc.namespace}.svc.cluster.local`;
    if (svc.headless) {
      // Headless: the name resolves to the ready endpoint pods themselves.
      for (const port of svc.ports) for (const ep of port.endpoints) add(name, ep.ip);
    } else if (svc.clusterIP !== undefined && svc.clusterIP !== 'None') {
      add(name, svc.clusterIP);
    }
  }
  if (!records.has('kubernetes.default.svc.cluster.local')) add('kubernetes.default.svc.cluster.local', DEFAULT_KUBERNETES_IP);
  const lines: string[] = [];
  for (const name of [...records.keys()].sort()) {
    for (const ip of [...records.get(name)!].sort()) lines.push(`${ip} ${name}`);
  }
  return lines.join('\n') + '\n';
}
