/**
 * Shelling out for the data plane: iproute2 and iptables-restore, fed on stdin so one process applies a
 * whole batch (a pod costs a few execs, not dozens).
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'CommandError';
  }
}

export function runCommand(argv: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runCommand: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (code === 0) resolve(result);
      else reject(new CommandError(argv, code, result.stderr));
    });
    child.stdin.on('error', () => undefined); // the command may exit before reading everything; its exit code tells
    child.stdin.end(options.input ?? '');
  });
}
