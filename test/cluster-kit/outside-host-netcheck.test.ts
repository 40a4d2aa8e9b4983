/**
 * The `npm run netcheck` wrapper's decisions, on plain data (its end-to-end run inside a real cluster's outside
 * host is in cluster.test.ts): which running cluster it picks, and which commands get the cluster's probe image.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveSessions, outsideHostNetcheckArgv, type Session } from './outside-host-netcheck.js';

const session: Session = { kubeconfig: '/k', outsideHost: 'nkc-x-outside', probeImage: 'netcheck.local/node:20', owner: process.pid };

describe('outsideHostNetcheckArgv', () => {
  const tail = (args: string[]) => outsideHostNetcheckArgv(session, args).slice(4);

  it('enters the outside host by its network namespace (nsenter: ip netns exec would hide the cgroups)', () => {
    expect(outsideHostNetcheckArgv(session, ['--version']).slice(0, 2)).toEqual(['nsenter', '--net=/run/netns/nkc-x-outside']);
  });
  it('gives commands that start probe pods the probe image the nodes hold, once', () => {
    expect(tail(['run', 'financial-ml'])).toEqual(['run', 'financial-ml', '--image', 'netcheck.local/node:20']);
    expect(tail(['financial-ml', '--per-node'])).toEqual(['financial-ml', '--per-node', '--image', 'netcheck.local/node:20']);
    expect(tail(['run', 'x', '--image', 'mine:1'])).toEqual(['run', 'x', '--image', 'mine:1']);
    expect(tail(['run', 'x', '--image=mine:1'])).toEqual(['run', 'x', '--image=mine:1']);
  });
  it('leaves offline commands and cleanup alone', () => {
    for (const command of ['analyze', 'explain', 'lint', 'validate', 'check', 'cleanup']) expect(tail([command, 'a'])).toEqual([command, 'a']);
    expect(tail(['--help'])).toEqual(['--help']);
  });
});

describe('liveSessions', () => {
  const root = mkdtempSync(join(tmpdir(), 'netcheck-sessions-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists clusters whose `up` process runs; ignores dead owners, other directories and broken files', () => {
    const write = (dir: string, content: string) => {
      mkdirSync(join(root, dir));
      writeFileSync(join(root, dir, 'session.json'), content);
    };
    write('netcheck-cluster-live', JSON.stringify(session));
    // PID 2^22+1 is above Linux's pid_max limit: never a live process.
    write('netcheck-cluster-dead', JSON.stringify({ ...session, owner: 4_194_305 }));
    write('netcheck-cluster-broken', '{');
    write('something-else', JSON.stringify(session));
    mkdirSync(join(root, 'netcheck-cluster-starting'));
    expect(liveSessions(root).map((s) => s.dir).sort()).toEqual([join(root, 'netcheck-cluster-live')]);
  });
});
