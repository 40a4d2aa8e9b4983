/**
 * An in-memory DataPlane for unit tests of the API side (server, controllers, faults) that need no Linux
 * networking. `node` pods really run (as child processes of the test) so logs and exit codes are real;
 * responders and DNS just hold an IP until removed. The end-to-end lab tests use the real data plane.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { DataPlane, DataPlaneState, PodRunHandle, PodRunSpec } from './types.js';

export class FakeDataPlane implements DataPlane {
  readonly outsideHost = 'fake-outside';
  readonly dnsServiceIP = '10.96.0.10';
  readonly states: DataPlaneState[] = [];
  readonly running = new Map<string, PodRunSpec>();
  readonly removed: string[] = [];
  private readonly children = new Map<string, ChildProcess>();
  private readonly releases = new Map<string, () => void>();
  private nextHost = 2;
  started = false;
  stopped = false;

  async start(): Promise<void> {
    this.started = true;
  }

  async runPod(spec: PodRunSpec, onLog: (chunk: Buffer) => void): Promise<PodRunHandle> {
    const ip = `10.244.${this.nextHost >> 8}.${this.nextHost & 255}`;
    this.nextHost++;
    this.running.set(spec.uid, spec);
    if (spec.role === 'dns' || spec.respondOn) {
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        this.releases.set(spec.uid, () => resolve({ code: null, signal: 'SIGKILL' }));
      });
      return { ip, exited };
    }
    const [, ...args] = spec.argv;
    const child = spawn(process.execPath, args, { env: { ...spec.env, PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(spec.uid, child);
    child.stdout!.on('data', onLog);
    child.stderr!.on('data', onLog);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
    return { ip, exited };
  }

  async removePod(uid: string): Promise<void> {
    this.removed.push(uid);
    this.running.delete(uid);
    const child = this.children.get(uid);
    if (child && child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    this.children.delete(uid);
    this.releases.get(uid)?.();
    this.releases.delete(uid);
  }

  async sync(state: DataPlaneState): Promise<void> {
    this.states.push(state);
  }

  get lastState(): DataPlaneState | undefined {
    return this.states[this.states.length - 1];
  }

  async stop(): Promise<void> {
    for (const uid of [...this.running.keys()]) await this.removePod(uid);
    this.stopped = true;
  }
}
