/**
 * Flannel as a platform runs it: upstream's Documentation/kube-flannel.yml of v0.28.11 (namespace kube-flannel,
 * ServiceAccount, ClusterRole and binding, ConfigMap kube-flannel-cfg, DaemonSet kube-flannel-ds), flanneld with
 * the kube subnet manager (it reads each node's spec.podCIDR, which cluster.ts sets) and the VXLAN backend, so pod
 * traffic between nodes crosses flannel.1 and nothing else. Flannel enforces no NetworkPolicy.
 *
 * What differs from upstream's manifest, and why:
 *   - images: netcheck.local/flannel:<version> is built here from this machine's files (flanneld and install-conf
 *     from build.ts; iptables, its xtables extensions and cp from the host, the same iptables backend kube-proxy
 *     uses on the node), one image for the three containers;
 *   - the `flannel` CNI plugin is flannel-cni.cjs (upstream's cni-plugin module is not served here): the same
 *     subnet.env → bridge + host-local delegation, copied by the same install-cni-plugin init container;
 *   - the CNI directories are the node's NODE_CNI_CONF_DIR / NODE_CNI_BIN_DIR (configs.ts), not /etc/cni/net.d and
 *     /opt/cni/bin, which are this machine's and shared by every node;
 *   - `--iface=eth0`: the node's underlay interface (upstream picks the default route's, and these nodes have none).
 */
import { fileURLToPath } from 'node:url';
import type { Components } from './build.js';
import { NODE_CNI_BIN_DIR, NODE_CNI_CONF_DIR } from './configs.js';
import { buildHostImage, hostToolEntries, iptablesTools, type ImageArchive } from './images.js';
import { CLUSTER_CIDR } from './network.js';

export const FLANNEL_NAMESPACE = 'kube-flannel';
export const FLANNEL_DAEMONSET = 'kube-flannel-ds';
const FLANNEL_CNI_PLUGIN = fileURLToPath(new URL('./flannel-cni.cjs', import.meta.url));

export function flannelImage(version: string): string {
  return `netcheck.local/flannel:${version}`;
}

/** The image upstream's three containers run: /opt/bin/flanneld, /opt/bin/install-conf, /flannel (the CNI plugin). */
export async function buildFlannelImage(outDir: string, components: Pick<Components, 'flanneld' | 'flannelInstallConf' | 'versions'>): Promise<ImageArchive> {
  // From this machine: iptables as the node's kube-proxy runs it (flanneld's --ip-masq and FORWARD rules sit
  // beside kube-proxy's), cp for the install-cni-plugin init container, and cat for Calico's flannel migration
  // controller (it reads subnet.env by `kubectl exec … -c kube-flannel -- cat run/flannel/subnet.env`).
  const iptables = await iptablesTools();
  const tools = await hostToolEntries({ ...iptables, binaries: [...(iptables.binaries ?? []), '/usr/bin/cp', '/usr/bin/cat'] });
  const flannel = await hostToolEntries({
    files: [
      { path: '/opt/bin/flanneld', source: components.flanneld },
      { path: '/opt/bin/install-conf', source: components.flannelInstallConf },
      { path: '/flannel', source: FLANNEL_CNI_PLUGIN },
    ],
  });
  // flanneld writes /run/flannel/subnet.env (a mount) and takes /run/xtables.lock (a mount): /run must exist.
  return buildHostImage(outDir, {
    ref: flannelImage(components.versions.flannel),
    layers: [[...tools, { kind: 'dir', path: 'run', mode: 0o755 }, { kind: 'dir', path: 'tmp', mode: 0o1777 }], flannel],
    entrypoint: ['/opt/bin/flanneld'],
  });
}

/** upstream's cni-conf.json: the flannel plugin delegating to bridge, then portmap. */
export const FLANNEL_CNI_CONF = {
  name: 'cbr0',
  cniVersion: '1.0.0',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

/** upstream's net-conf.json: the cluster's pod network, VXLAN, iptables (kube-proxy's backend) rather than nftables. */
export const FLANNEL_NET_CONF = { Network: CLUSTER_CIDR, EnableNFTables: false, Backend: { Type: 'vxlan' } };

/** kube-flannel.yml v0.28.11, with the image and paths above. */
export function flannelObjects(image: string): Record<string, unknown>[] {
  const ns = FLANNEL_NAMESPACE;
  const labels = { tier: 'node', app: 'flannel' };
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return [
    // kube-flannel is privileged for PodSecurity, as upstream labels it (hostNetwork, NET_ADMIN, hostPath).
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'k8s-app': 'flannel', 'pod-security.kubernetes.io/enforce': 'privileged' } } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'flannel', labels: { 'k8s-app': 'flannel' } },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'flannel', labels: { 'k8s-app': 'flannel' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'flannel' },
      subjects: [{ kind: 'ServiceAccount', name: 'flannel', namespace: ns }],
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'flannel', namespace: ns, labels: { 'k8s-app': 'flannel' } } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-flannel-cfg', namespace: ns, labels: { ...labels, 'k8s-app': 'flannel' } },
      data: { 'cni-conf.json': `${JSON.stringify(FLANNEL_CNI_CONF, null, 2)}\n`, 'net-conf.json': `${JSON.stringify(FLANNEL_NET_CONF, null, 2)}\n` },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: FLANNEL_DAEMONSET, namespace: ns, labels: { ...labels, 'k8s-app': 'flannel' } },
      spec: {
        selector: { matchLabels: { app: 'flannel' } },
        template: {
          metadata: { labels },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }],
                },
              },
            },
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
            serviceAccountName: 'flannel',
            initContainers: [
              {
                name: 'install-cni-plugin',
                image,
                command: ['cp'],
                args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
                volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }],
              },
              {
                name: 'install-cni',
                image,
                command: ['/opt/bin/install-conf'],
                args: ['/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'],
                volumeMounts: [
                  { name: 'cni', mountPath: '/etc/cni/net.d' },
                  { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                ],
              },
            ],
            containers: [
              {
                name: 'kube-flannel',
                image,
                command: ['/opt/bin/flanneld'],
                args: ['--ip-masq', '--kube-subnet-mgr', '--iface=eth0', '--healthz-port=8081'],
                ports: [{ name: 'healthz', containerPort: 8081, protocol: 'TCP' }],
                livenessProbe: { httpGet: { path: '/healthz', port: 'healthz' }, initialDelaySeconds: 10, periodSeconds: 30 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'healthz' }, initialDelaySeconds: 5, periodSeconds: 10 },
                resources: { requests: { cpu: '100m', memory: '50Mi' } },
                securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
                env: [
                  fieldEnv('POD_NAME', 'metadata.name'),
                  fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                  // Read first by the kube subnet manager (pkg/subnet/kube): its node without asking for its pod.
                  fieldEnv('NODE_NAME', 'spec.nodeName'),
                  { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                  { name: 'CONT_WHEN_CACHE_NOT_READY', value: 'false' },
                ],
                volumeMounts: [
                  { name: 'run', mountPath: '/run/flannel' },
                  { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                  { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                ],
              },
            ],
            volumes: [
              { name: 'run', hostPath: { path: '/run/flannel' } },
              { name: 'cni-plugin', hostPath: { path: NODE_CNI_BIN_DIR } },
              { name: 'cni', hostPath: { path: NODE_CNI_CONF_DIR } },
              { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
              { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
            ],
          },
        },
      },
    },
  ];
}
