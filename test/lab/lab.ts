/**
 * startLab(): the lab's API server and controllers wired to the Linux data plane. Also the place that owns
 * the lab's temp dir (kubeconfig) and sweeps those left behind by crashed runs.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ApiServer } from './api/server.js';
import { Controllers, SEEDED_ANNOTATION } from './api/controllers.js';
import { servicesNotProgrammed } from './api/endpoints.js';
import { RESOURCE } from './api/resources.js';
import { readManifests } from '../cluster-kit/manifests.js';
import { ObjectStore, randomSuffix } from './api/store.js';
import { createDataPlane, sweepStaleLabs } from './net/data-plane.js';
import { isProcessAlive } from '../cluster-kit/processes.js';
import { exposeApiToOutsideHost, type OutsideHostApi } from './net/outside-host-api.js';
import type { DataPlane, Faults, Lab, LabOptions } from './types.js';

const TEMP_PREFIX = 'netcheck-labapi-';
const DEFAULT_NODES = ['lab-node-a', 'lab-node-b'];
/** Seeded workloads (and cluster DNS) must be running before the lab reports ready. */
const SEEDED_START_TIMEOUT_MS = 60_000;

async function waitForSeededPods(store: ObjectStore, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = store
      .list(RESOURCE.pods)
      .filter((p) => p.metadata.annotations?.[SEEDED_ANNOTATION] !== undefined && (p.status?.phase ?? 'Pending') === 'Pending')
      // A seeded pod held back by an injected fault (image pull failure, unschedulable) will not start: don't wait for it.
      .filter((p) => {
        const waiting = p.status?.containerStatuses?.[0]?.state?.waiting?.reason as string | undefined;
        const unschedulable = (p.status?.conditions ?? []).some((c: { reason?: string }) => c.reason === 'Unschedulable');
        return !unschedulable && (waiting === undefined || waiting === 'ContainerCreating');
      });
    if (pending.length === 0) {
      // A seeded workload that could not start (e.g. dnsmasq died) makes every later test lie: fail loudly here.
      const failed = store
        .list(RESOURCE.pods)
        .filter((p) => p.metadata.annotations?.[SEEDED_ANNOTATION] !== undefined && p.status?.phase === 'Failed');
      if (failed.length > 0) {
        const why = failed.map((p) => `${p.metadata.namespace}/${p.metadata.name}: ${p.status?.containerStatuses?.[0]?.state?.terminated?.message ?? 'failed'}`);
        throw new Error(`lab: seeded pods failed to start: ${why.join('; ')}`);
      }
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`lab: seeded pods still Pending after ${timeoutMs / 1000}s: ${pending.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** After the seeded pods run: cluster DNS answers and seeded Services have their endpoints programmed. */
const READINESS_TIMEOUT_MS = 20_000;
/** What the readiness check resolves, and the address it must get (the `kubernetes` Service's ClusterIP). */
const READINESS_NAME = 'kubernetes.default.svc.cluster.local';
const KUBERNETES_SERVICE_IP = '10.96.0.1';

/**
 * The lab is ready when a pod started right after startLab resolves would see a working cluster: every
 * selector Service's running pods are in the endpoints the data plane has programmed, and (when the kube-dns
 * Service has endpoints, i.e. no fault holds DNS back) cluster DNS answers at its Service IP.
 */
async function waitForReadiness(store: ObjectStore, controllers: Controllers, dataPlane: DataPlane, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await controllers.flush();
    const synced = controllers.lastSyncedState?.services;
    const missing = servicesNotProgrammed(store.list(RESOURCE.services), store.list(RESOURCE.pods), controllers.faults.servicesWithoutEndpoints ?? [], synced);
    let why: string | undefined = missing.length > 0 ? `endpoints not programmed for ${missing.join(', ')}` : undefined;
    const dns = synced?.find((s) => s.namespace === 'kube-system' && s.name === 'kube-dns');
    const dnsServed = (dns?.ports ?? []).some((p) => p.protocol === 'UDP' && p.endpoints.length > 0);
    if (why === undefined && dnsServed && dataPlane.resolveClusterDns) {
      const answer = await dataPlane.resolveClusterDns(READINESS_NAME).catch((error: unknown) => (error as Error).message);
      if (!Array.isArray(answer) || !answer.includes(KUBERNETES_SERVICE_IP)) {
        why = Array.isArray(answer) ? `cluster DNS answered ${READINESS_NAME} with ${JSON.stringify(answer)}` : answer;
      }
    }
    if (why === undefined) return;
    if (Date.now() > deadline) throw new Error(`lab: not ready after ${timeoutMs / 1000}s: ${why}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface LabInternals {
  /** Replaces the Linux data plane (unit tests of the API side use an in-memory one). */
  createDataPlane?: (opts: { suffix: string; nodes: string[] }) => DataPlane;
  /** Watch history length; small values make 410 Expired reachable in tests. */
  historyLimit?: number;
  /** Background errors (data-plane sync failures); default: written to stderr. */
  onError?: (error: unknown) => void;
}

/** A running lab plus what tests of the lab itself look at. */
export interface RunningLab extends Lab {
  readonly suffix: string;
  readonly dataPlane: DataPlane;
  readonly store: ObjectStore;
  /** Resolves when controllers and data plane have caught up with every change so far. */
  settle(): Promise<void>;
}

/** Removes temp dirs of labs whose process is gone (`netcheck-labapi-<pid>-<suffix>`). */
export function sweepStaleTempDirs(): void {
  const root = tmpdir();
  for (const entry of readdirSync(root)) {
    const match = /^netcheck-labapi-(\d+)-/.exec(entry);
    if (match && !isProcessAlive(Number(match[1]))) rmSync(join(root, entry), { recursive: true, force: true });
  }
}

function writeKubeconfig(dir: string, server: string): string {
  const path = join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain http unless TLS verification is skipped; kubectl accepts either.
    clusters: [{ name: 'netcheck-lab', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'netcheck', user: { token: 'netcheck-lab-token' } }],
    contexts: [{ name: 'netcheck-lab', context: { cluster: 'netcheck-lab', user: 'netcheck', namespace: 'default' } }],
    'current-context': 'netcheck-lab',
    preferences: {},
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}

export async function startLab(options: LabOptions = {}): Promise<RunningLab> {
  return startLabWith(options);
}

export async function startLabWith(options: LabOptions = {}, internals: LabInternals = {}): Promise<RunningLab> {
  const nodes = options.nodes ?? DEFAULT_NODES;
  const manifests = readManifests(options.manifests ?? []);
  sweepStaleTempDirs();
  const suffix = randomSuffix(6);
  const dataPlane = internals.createDataPlane ? internals.createDataPlane({ suffix, nodes }) : (await sweepStaleLabs(), createDataPlane({ suffix, nodes }));
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-${suffix}-`));
  const store = new ObjectStore(internals.historyLimit === undefined ? {} : { historyLimit: internals.historyLimit });
  let controllers: Controllers | undefined;
  let server: ApiServer | undefined;
  let outsideHostApi: OutsideHostApi | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      controllers?.stop();
      await outsideHostApi?.stop();
      await server?.close();
      await controllers?.idle().catch(() => undefined);
      await dataPlane.stop();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    await dataPlane.start();
    controllers = new Controllers({ store, dataPlane, nodes, faults: options.faults ?? {}, ...(internals.onError ? { onError: internals.onError } : {}) });
    const c = controllers;
    server = new ApiServer({ store, admission: c.admission, faults: () => c.faults, podLog: (uid) => c.podLog(uid) });
    const url = await server.listen();
    // The outside host stands for the machine netcheck runs on: the kubeconfig's URL must work there too.
    // An injected data plane (in-memory) has no outside-host namespace to run the forwarder in.
    if (!internals.createDataPlane) outsideHostApi = await exposeApiToOutsideHost({ port: Number(new URL(url).port), outsideHost: dataPlane.outsideHost, dir });
    const kubeconfigPath = writeKubeconfig(dir, url);
    c.start(manifests);
    await waitForSeededPods(store, SEEDED_START_TIMEOUT_MS);
    await waitForReadiness(store, c, dataPlane, READINESS_TIMEOUT_MS);
    const s = server;
    return {
      kubeconfigPath,
      server: url,
      outsideHost: dataPlane.outsideHost,
      suffix,
      dataPlane,
      store,
      async setFaults(faults: Partial<Faults>): Promise<void> {
        if ('apiDownAfterRequests' in faults) s.resetRequestCount();
        await c.setFaults(faults);
      },
      outsideHostArgv: (argv: string[]) => ['ip', 'netns', 'exec', dataPlane.outsideHost, ...argv],
      settle: () => c.flush(),
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
