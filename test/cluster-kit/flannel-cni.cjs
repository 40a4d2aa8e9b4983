#!/usr/bin/env node
// The `flannel` CNI plugin, in place of upstream's (github.com/flannel-io/cni-plugin, a module the Go proxy does
// not serve here). It does what upstream's does, no more: at ADD it reads the subnet.env flanneld wrote, turns the
// network config's `delegate` into a bridge config (name and cniVersion of the network, isGateway, ipMasq unless
// flanneld masquerades itself, flannel's MTU) with host-local IPAM on the node's flannel subnet and a route to the
// whole flannel network, keeps that config under dataDir by container id, and runs the delegate; at DEL it runs
// the delegate with the config it kept. Flannel's DaemonSet copies this file into the node's CNI bin directory
// (install-cni-plugin, as upstream's init container copies its binary), and containerd runs it there with
// this machine's node, like any CNI plugin: a process of the node, outside every container.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const SUPPORTED = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

function fail(cniVersion, msg) {
  process.stdout.write(JSON.stringify({ cniVersion: cniVersion ?? '1.0.0', code: 999, msg }));
  process.exit(1);
}

/** subnet.env: KEY=VALUE lines, as flanneld writes them (pkg/subnet WriteSubnetFile). */
function readSubnetEnv(path) {
  const env = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return env;
}

/** 10.244.1.1/24 → 10.244.1.0/24: host-local wants the subnet, flanneld writes the gateway's address. */
function networkOf(cidr) {
  const [address, bits] = cidr.split('/');
  const n = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const mask = bits === '0' ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${bits}`;
}

function runDelegate(conf) {
  const type = conf.type;
  const dirs = (process.env.CNI_PATH ?? '').split(':').filter(Boolean);
  const plugin = dirs.map((d) => join(d, type)).find((p) => existsSync(p));
  if (plugin === undefined) fail(conf.cniVersion, `flannel: delegate plugin ${type} not found in CNI_PATH ${process.env.CNI_PATH}`);
  const result = spawnSync(plugin, [], { input: JSON.stringify(conf), env: process.env, stdio: ['pipe', 'pipe', 'inherit'] });
  process.stdout.write(result.stdout ?? '');
  return result.status ?? 1;
}

function main() {
  const command = process.env.CNI_COMMAND;
  if (command === 'VERSION') {
    process.stdout.write(JSON.stringify({ cniVersion: '1.0.0', supportedVersions: SUPPORTED }));
    return 0;
  }
  let conf;
  try {
    conf = JSON.parse(readFileSync(0, 'utf8'));
  } catch (err) {
    fail(undefined, `flannel: network config is not JSON: ${err.message}`);
  }
  const dataDir = conf.dataDir ?? '/var/lib/cni/flannel';
  const containerId = process.env.CNI_CONTAINERID ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(containerId)) fail(conf.cniVersion, `flannel: bad CNI_CONTAINERID "${containerId}"`);
  const kept = join(dataDir, containerId);

  if (command === 'ADD') {
    const subnetFile = conf.subnetFile ?? '/run/flannel/subnet.env';
    if (!existsSync(subnetFile)) fail(conf.cniVersion, `flannel: ${subnetFile} does not exist yet (is flanneld running on this node?)`);
    const env = readSubnetEnv(subnetFile);
    if (!env.FLANNEL_SUBNET || !env.FLANNEL_NETWORK) fail(conf.cniVersion, `flannel: ${subnetFile} lacks FLANNEL_SUBNET or FLANNEL_NETWORK`);
    const delegate = { ...(conf.delegate ?? {}) };
    delegate.name = conf.name;
    delegate.type ??= 'bridge';
    if (conf.cniVersion !== undefined) delegate.cniVersion = conf.cniVersion;
    // flanneld's --ip-masq already masquerades pod traffic leaving the flannel network; the bridge does it only
    // when flanneld does not (upstream: ipMasq = !FLANNEL_IPMASQ).
    delegate.ipMasq ??= env.FLANNEL_IPMASQ !== 'true';
    if (env.FLANNEL_MTU) delegate.mtu ??= Number(env.FLANNEL_MTU);
    if (delegate.type === 'bridge') delegate.isGateway ??= true;
    // The network config's own `ipam` is the base (upstream's getDelegateIPAM): its type (host-local by default),
    // its routes before flannel's network, anything else (dataDir) kept; ranges are flannel's subnet only.
    const ipam = { ...(conf.ipam ?? {}) };
    ipam.type ??= 'host-local';
    ipam.ranges = [[{ subnet: networkOf(env.FLANNEL_SUBNET) }]];
    ipam.routes = [...(ipam.routes ?? []), ...env.FLANNEL_NETWORK.split(',').map((dst) => ({ dst }))];
    delegate.ipam = ipam;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(kept, JSON.stringify(delegate), { mode: 0o600 });
    const status = runDelegate(delegate);
    if (status !== 0) rmSync(kept, { force: true });
    return status;
  }
  if (command === 'DEL' || command === 'CHECK') {
    // DEL of a container that never got an ADD (or a second DEL) succeeds with nothing to do, as upstream's.
    if (!existsSync(kept)) return command === 'DEL' ? 0 : fail(conf.cniVersion, `flannel: no config kept for ${containerId}`);
    const delegate = JSON.parse(readFileSync(kept, 'utf8'));
    if (command === 'CHECK' && conf.prevResult !== undefined) delegate.prevResult = conf.prevResult;
    const status = runDelegate(delegate);
    if (command === 'DEL' && status === 0) rmSync(kept, { force: true });
    return status;
  }
  // STATUS and GC (CNI 1.1) need nothing of flannel's own: the delegate's state is host-local's.
  return 0;
}

process.exitCode = main();
