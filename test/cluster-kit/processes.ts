/**
 * Every process of a test cluster runs inside one cgroup tree, `/<cgroup>` in each cgroup v1 hierarchy (or the
 * unified one): the components started here, the containerd shims they fork (which re-parent themselves and
 * survive their parent) and the containers the kubelets place under their own cgroup root beneath it. Teardown
 * (and the sweep after a kill -9) ends everything by listing that tree, so nothing outlives the cluster.
 *
 * Components are started with PR_SET_PDEATHSIG (setpriv), so they die with the process that started them
 * even when it is killed with -9; the shims and containers are then swept at the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The cgroup hierarchies mounted here: each v1 controller's directory, or the unified root. */
function cgroupHierarchies(): string[] {
  if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) return [CGROUP_ROOT];
  return readdirSync(CGROUP_ROOT)
    .map((d) => join(CGROUP_ROOT, d))
    .filter((d) => !d.endsWith('/unified') && existsSync(join(d, 'cgroup.procs')));
}

/** The hierarchy whose cgroup.procs tracks processes for teardown (pids, or the unified root). */
function trackingHierarchy(): string {
  const pids = join(CGROUP_ROOT, 'pids');
  return existsSync(join(pids, 'cgroup.procs')) ? pids : CGROUP_ROOT;
}

/** Creates `/<path>` in every hierarchy; cpuset needs its cpus and mems copied down before it takes a task. */
export function createCgroup(path: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    let dir = hierarchy;
    for (const part of path.split('/').filter(Boolean)) {
      const parent = dir;
      dir = join(dir, part);
      if (!existsSync(dir)) mkdirSync(dir);
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        const own = join(dir, file);
        if (existsSync(own) && readFileSync(own, 'utf8').trim() === '') writeFileSync(own, readFileSync(join(parent, file), 'utf8').trim());
      }
    }
  }
}

function cgroupDirsDepthFirst(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir)
    .map((d) => join(dir, d))
    .filter((d) => {
      try {
        return statSync(d).isDirectory();
      } catch {
        return false;
      }
    });
  return [...children.flatMap(cgroupDirsDepthFirst), dir];
}

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every PID anywhere in the tree `/<path>`. */
export function processesInCgroup(path: string): number[] {
  return cgroupDirsDepthFirst(join(trackingHierarchy(), path)).flatMap(pidsIn);
}

/**
 * A frozen process takes no signal, SIGKILL included, until thawed: runc freezes a container's cgroup while it
 * signals or updates it, and a runc killed in between (its cluster being torn down) leaves the cgroup FROZEN.
 */
function thawCgroupTree(path: string): void {
  const v1 = join(CGROUP_ROOT, 'freezer', path);
  const [root, file, thawed] = existsSync(v1) ? [v1, 'freezer.state', 'THAWED'] : [join(CGROUP_ROOT, path), 'cgroup.freeze', '0'];
  // Parents first: a child stays frozen while its parent is.
  for (const dir of cgroupDirsDepthFirst(root).reverse()) {
    try {
      if (existsSync(join(dir, file))) writeFileSync(join(dir, file), thawed);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * SIGKILLs every process in `/<path>` (thawing it first) until none is left, then removes the cgroup in every hierarchy.
 * Processes here are only ever ones the cluster started (a cgroup is created per cluster).
 */
export async function killCgroup(path: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = processesInCgroup(path);
    if (pids.length === 0) break;
    if (Date.now() > deadline) throw new Error(`cgroup /${path}: processes ${pids.join(', ')} survive SIGKILL`);
    thawCgroupTree(path);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of cgroupDirsDepthFirst(join(hierarchy, path))) {
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          // A cgroup whose last task just died can stay busy for a moment.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          if (attempt >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
}

export interface ComponentProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its log (for error messages). */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** The cgroup (path under each hierarchy's root) the process joins before it execs. */
  cgroup: string;
  /** Network namespace to enter (a name under /run/netns). */
  netns?: string;
  /** Mount namespace to enter: a PID whose namespace it is (a node's containerd). */
  mountNamespaceOf?: number;
  /** Start a new private mount namespace, run these shell commands in it, then exec the component. */
  privateMounts?: string[];
  env?: Record<string, string>;
  logDir: string;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * Starts `argv` as a cluster component: in the cluster's cgroup, dying with this process (pdeathsig), inside
 * the given namespaces, its output appended to `<logDir>/<name>.log`.
 */
export function startComponent(name: string, argv: string[], options: StartOptions): ComponentProcess {
  const tracking = join(trackingHierarchy(), options.cgroup, 'cgroup.procs');
  let command = argv.map(shellQuote).join(' ');
  if (options.privateMounts !== undefined) {
    command = `unshare --mount --propagation private sh -c ${shellQuote(`set -e; ${options.privateMounts.join('; ')}; exec ${command}`)}`;
  }
  const enter = [options.netns === undefined ? '' : `--net=/run/netns/${options.netns}`, options.mountNamespaceOf === undefined ? '' : `--mount=/proc/${options.mountNamespaceOf}/ns/mnt`].filter(Boolean);
  if (enter.length > 0) command = `nsenter ${enter.join(' ')} ${command}`;
  // Join the cgroup first, so that nothing this process forks can escape the teardown.
  const script = `echo $$ > ${shellQuote(tracking)} && exec setpriv --pdeathsig SIGKILL ${command}`;
  const logFile = join(options.logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      log.end();
      resolve({ code, signal });
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    name,
    pid: child.pid as number,
    child,
    logFile,
    exited,
    tail(lines = 15) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop(graceMs = 3_000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function readStartTime(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat, counted after the parenthesised command name (which may hold spaces).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Alive, and (given its start time) the same process that wrote the marker (PIDs get reused). */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return startTime === undefined || readStartTime(pid) === startTime;
}
