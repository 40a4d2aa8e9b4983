/**
 * Flags shared by the offline commands (analyze, explain, lint): --manifests, --port, --protocol, -o,
 * and loading the manifests into a snapshot. Bad values become one-line UsageErrors (exit 2).
 */
import type { Argv } from 'yargs';
import { UsageError } from '../model/errors.js';
import { snapshotFromManifestFiles, type ManifestSnapshot } from '../policy/manifests.js';
import type { PortQuery } from '../policy/ports.js';
import type { Protocol } from '../policy/types.js';
import { readInputFiles } from '../scenario/files.js';

export interface ManifestArgs {
  manifests: string[];
}

export function withManifests<T>(yargs: Argv<T>): Argv<T & ManifestArgs> {
  return yargs.option('manifests', {
    alias: 'f',
    type: 'string',
    array: true,
    demandOption: '--manifests PATH',
    describe: 'manifest files or directories (YAML/JSON, read recursively)',
  });
}

export function withOutput<T>(yargs: Argv<T>): Argv<T & { output: string }> {
  return yargs.option('output', {
    alias: 'o',
    type: 'string',
    // nargs: 1 so a bare `-o` is an error rather than yargs silently using the default.
    nargs: 1,
    default: 'table',
    describe: 'output format: table or json',
  });
}

export function withProtocol<T>(yargs: Argv<T>): Argv<T & { protocol?: string }> {
  return yargs.option('protocol', { type: 'string', describe: 'TCP (default), UDP or SCTP' });
}

export function parseOutput(value: string): 'table' | 'json' {
  if (value === 'table' || value === 'json') return value;
  throw new UsageError(`-o ${value}: unknown output format; use table or json`);
}

export function parseProtocol(value: string | undefined): Protocol | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (upper === 'TCP' || upper === 'UDP' || upper === 'SCTP') return upper;
  throw new UsageError(`--protocol ${value}: use TCP, UDP or SCTP`);
}

/** A port number (1-65535) or an IANA service name as container ports use (lowercase, ≤15 chars). */
export function parsePortFlag(value: string | number | undefined, flag = '--port'): PortQuery | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 65535) throw new UsageError(`${flag} ${text}: port numbers run from 1 to 65535`);
    return n;
  }
  if (!/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(text) || !/[a-z]/.test(text)) {
    throw new UsageError(`${flag} ${text}: not a port number or a port name (lowercase letters, digits, '-', at most 15)`);
  }
  return text;
}

export async function loadManifests(paths: string[]): Promise<ManifestSnapshot> {
  if (paths.length === 0) throw new UsageError('--manifests: name at least one file or directory');
  const files = await readInputFiles(paths);
  if (files.length === 0) throw new UsageError(`--manifests ${paths.join(' ')}: no .yaml, .yml or .json files found`);
  return snapshotFromManifestFiles(files);
}
