/**
 * Vitest helpers that start labs and always stop them (afterAll / onTestFinished), so a failing test never
 * leaves network namespaces, processes or temp files behind.
 */
import * as k8s from '@kubernetes/client-node';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { FakeDataPlane } from './fake-data-plane.js';
import { startLabWith, type LabInternals, type RunningLab } from './lab.js';
import type { LabOptions } from './types.js';

/** Why the real (Linux) lab cannot run here, or undefined when it can. */
export function realLabUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the lab data plane needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the lab data plane needs root (network namespaces, iptables)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return 'iproute2 (`ip netns`) is not available';
  }
  return undefined;
}

/** One lab for the whole file (beforeAll/afterAll). */
export function useLab(options: LabOptions = {}, internals: LabInternals = {}): () => RunningLab {
  let lab: RunningLab | undefined;
  beforeAll(async () => {
    lab = await startLabWith(options, internals);
  });
  afterAll(async () => {
    await lab?.stop();
  });
  return () => {
    if (!lab) throw new Error('lab not started (beforeAll failed?)');
    return lab;
  };
}

/** A file-wide lab on the in-memory data plane: for API and controller behaviour. */
export function useFakeLab(options: LabOptions = {}, internals: LabInternals = {}): () => { lab: RunningLab; dataPlane: FakeDataPlane } {
  const getLab = useLab(options, { ...internals, createDataPlane: () => new FakeDataPlane() });
  return () => {
    const lab = getLab();
    return { lab, dataPlane: lab.dataPlane as FakeDataPlane };
  };
}

/** A lab for one test, stopped when the test finishes (pass or fail). */
export async function startTestLab(options: LabOptions = {}, internals: LabInternals = {}): Promise<RunningLab> {
  const lab = await startLabWith(options, internals);
  onTestFinished(async () => {
    await lab.stop();
  });
  return lab;
}

/** Polls until `check` returns a value (not undefined), or throws with the last observation after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

const execFileAsync = promisify(execFile);

/**
 * A `kubectl(...args)` against the kubeconfig `kubeconfigPath()` returns at call time (so it can be built
 * before the lab starts). It never throws on a non-zero exit: the exit code comes back with the output.
 */
export function kubectlWith(kubeconfigPath: () => string): (...args: string[]) => Promise<KubectlResult> {
  return async (...args) => {
    try {
      const { stdout, stderr } = await execFileAsync('kubectl', ['--kubeconfig', kubeconfigPath(), ...args], { timeout: 30_000 });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout: string; stderr: string; code: number };
      return { stdout: e.stdout, stderr: e.stderr, code: e.code };
    }
  };
}

/** The Kubernetes Status an API call fails with (the body of its ApiException); throws if the call succeeds. */
export async function statusOf(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string; kind: string; details?: { causes?: Array<{ field: string }> } }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof k8s.ApiException) return typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    throw error;
  }
  throw new Error('expected the call to fail');
}
