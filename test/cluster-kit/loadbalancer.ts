/**
 * The test cluster's LoadBalancer provider, doing what MetalLB or a cloud controller does: a Service of type
 * LoadBalancer gets the address it asks for (spec.loadBalancerIP, or MetalLB's loadBalancerIPs annotation)
 * written into status.loadBalancer.ingress, and the outside host gets a route to it through a node, where
 * kube-proxy's rules make it real. No upstream controller fits (the cloud-provider library needs a cloud;
 * MetalLB's speaker announces over ARP/BGP to a network we do not have), so this is ours. It reads Services
 * itself rather than through netcheck's own parser: it stands for the platform, which netcheck is tested against.
 */
import * as k8s from '@kubernetes/client-node';
import { routeLoadBalancerIp, type ClusterNetwork } from './network.js';

const METALLB_ANNOTATIONS = ['metallb.universe.tf/loadBalancerIPs', 'metallb.io/loadBalancerIPs'];
const POLL_MS = 500;

export interface LoadBalancerController {
  stop(): Promise<void>;
}

/** The addresses a LoadBalancer Service asks for (none: it stays pending, as with MetalLB and no pool). */
export function requestedAddresses(service: k8s.V1Service): string[] {
  const annotations = service.metadata?.annotations ?? {};
  for (const key of METALLB_ANNOTATIONS) {
    const value = annotations[key];
    if (value !== undefined) return value.split(',').map((s) => s.trim()).filter(Boolean);
  }
  return service.spec?.loadBalancerIP ? [service.spec.loadBalancerIP] : [];
}

export function startLoadBalancerController(kc: k8s.KubeConfig, net: ClusterNetwork, log: (line: string) => void): LoadBalancerController {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const routed = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const reconcile = async (): Promise<void> => {
    const services = (await core.listServiceForAllNamespaces()).items.filter((s) => s.spec?.type === 'LoadBalancer');
    for (const service of services) {
      const wanted = requestedAddresses(service);
      const current = (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => ip !== undefined);
      for (const ip of wanted) {
        if (routed.has(ip)) continue;
        await routeLoadBalancerIp(net, ip);
        routed.add(ip);
      }
      if (wanted.join(',') === current.join(',')) continue;
      await core.patchNamespacedServiceStatus(
        { name: service.metadata!.name!, namespace: service.metadata!.namespace!, body: { status: { loadBalancer: { ingress: wanted.map((ip) => ({ ip, ipMode: 'VIP' })) } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      log(`loadbalancer: ${service.metadata!.namespace}/${service.metadata!.name} → ${wanted.join(', ') || '(pending: no address requested)'}`);
    }
  };
  const tick = (): void => {
    if (stopped) return;
    running = reconcile()
      .catch(() => undefined) // the API may be down on purpose (a test stops it); the next tick retries
      .then(() => {
        if (!stopped) timer = setTimeout(tick, POLL_MS);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
