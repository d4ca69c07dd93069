// Live: the native helper's graft, in a real private mount namespace (`unshare -m`): the fresh
// tree is opened on the host, the stale copy in the namespace is detached and replaced, the
// subdirectory root and read-only are kept, and a symlink planted at the target is not followed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { helperPath } from '../../../src/host/probe-engine.js';
import { ProbeRunner } from '../../../src/host/probe-runner.js';
import type { GraftRequest } from '../../../src/host/types.js';
import { parseMountinfo } from '../../../src/mounts/mountinfo/parse.js';
import { REPO, killHard, requireBinary, tempDir, waitFor } from '../../helpers/live.js';

// A process in its own private mount namespace, where `stale` is bind-mounted on `target`.
async function namespaceWithStaleMount(t: TestContext, stale: string, target: string): Promise<number> {
  const p = spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$0" "$1" && touch "$1.ready"; exec sleep 600',
      stale,
      target,
    ],
    { stdio: 'ignore', detached: true },
  );
  t.after(() => killHard(p.pid!));
  await waitFor(() => fs.existsSync(`${target}.ready`), 5000, 'the namespace to be ready');
  return p.pid!;
}

// What a process in the namespace of `pid` sees at `dir`, and whether it can write there.
function seenFrom(pid: number, dir: string): { files: string[]; writable: boolean } {
  const ls = spawnSync('nsenter', ['-t', String(pid), '-m', '--', 'ls', '-A1', dir], { encoding: 'utf8' });
  const w = spawnSync('nsenter', ['-t', String(pid), '-m', '--', 'touch', path.join(dir, '.w')], { encoding: 'utf8' });
  return { files: ls.stdout.split('\n').filter((n) => n !== '' && n !== '.w'), writable: w.status === 0 };
}

// The graft request for the namespace of `pid`: the stale mount at `target` there, by its id.
function request(pid: number, source: string, target: string, ro: boolean): GraftRequest {
  const dev = spawnSync('stat', ['-c', '%Hd:%Ld', source], { encoding: 'utf8' }).stdout.trim();
  const mounts = parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
  const stale = mounts.filter((m) => m.mountpoint === target).at(-1);
  return {
    pid,
    mntnsInode: fs.statSync(`/proc/${pid}/ns/mnt`).ino,
    source,
    sourceDevice: dev,
    target,
    staleMountId: stale?.id ?? null,
    attrs: { ro, nosuid: false, nodev: false, noexec: false },
    timeoutMs: 5000,
  };
}

function setup(
  t: TestContext,
): { dir: string; fresh: string; stale: string; target: string; runner: ProbeRunner } | null {
  if (!requireBinary(t, 'unshare', 'nsenter')) return null;
  if (helperPath(path.join(REPO, 'dist/src/host')) === null) {
    t.skip('SKIPPED: the native helper was not built (no C compiler); graft needs it');
    return null;
  }
  const dir = tempDir(t, 'enc-perf-graft-');
  const fresh = path.join(dir, 'fresh');
  const stale = path.join(dir, 'stale');
  const target = path.join(dir, 'target');
  for (const d of [fresh, path.join(fresh, 'sub'), stale, target]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(fresh, 'top.txt'), 'top');
  fs.writeFileSync(path.join(fresh, 'sub', 'inner.txt'), 'inner');
  fs.writeFileSync(path.join(stale, 'STALE'), 'old');
  const before = process.env.ENOTCONN_PROBE_ENGINE;
  process.env.ENOTCONN_PROBE_ENGINE = 'native';
  const runner = new ProbeRunner(path.join(dir, 'run'));
  t.after(() => {
    runner.close();
    if (before === undefined) delete process.env.ENOTCONN_PROBE_ENGINE;
    else process.env.ENOTCONN_PROBE_ENGINE = before;
  });
  return { dir, fresh, stale, target, runner };
}

test('graft replaces the stale mount in another mount namespace with a subdirectory of the fresh one, read-only', async (t) => {
  const s = setup(t);
  if (!s) return;
  const pid = await namespaceWithStaleMount(t, s.stale, s.target);
  assert.deepEqual(seenFrom(pid, s.target).files, ['STALE']);
  const r = await s.runner.graft(request(pid, path.join(s.fresh, 'sub'), s.target, true));
  assert.deepEqual(r, { ok: true });
  assert.deepEqual(seenFrom(pid, s.target), { files: ['inner.txt'], writable: false });
  // The host's own view did not change: nothing was mounted at the target here.
  assert.deepEqual(fs.readdirSync(s.target), []);
});

test('graft into a namespace where the target is a symlink does not follow it', async (t) => {
  const s = setup(t);
  if (!s) return;
  const pid = await namespaceWithStaleMount(t, s.stale, s.target);
  // Inside the namespace, the user swaps a path for a symlink to somewhere else.
  const link = path.join(s.dir, 'link');
  fs.symlinkSync(path.join(s.dir, 'stale'), link);
  const r = await s.runner.graft({ ...request(pid, s.fresh, s.target, false), target: link });
  assert.deepEqual(r, { ok: false, errno: 'ELOOP', step: 'open-target' });
  assert.deepEqual(seenFrom(pid, s.stale).files, ['STALE'], 'the symlink target was left alone');
});

test('graft checks the namespace inode, the stale mount id and the source device, and never follows a symlink in the source', async (t) => {
  const s = setup(t);
  if (!s) return;
  const pid = await namespaceWithStaleMount(t, s.stale, s.target);
  const good = request(pid, s.fresh, s.target, false);
  // A pid reused by a process in another namespace: the planned inode no longer matches.
  assert.deepEqual(await s.runner.graft({ ...good, mntnsInode: good.mntnsInode + 1 }), {
    ok: false,
    errno: 'ESRCH',
    step: 'namespace',
  });
  // Another mount sits at the target now: nothing is detached.
  assert.deepEqual(await s.runner.graft({ ...good, staleMountId: (good.staleMountId ?? 0) + 100000 }), {
    ok: false,
    errno: 'ESTALE',
    step: 'stale-check',
  });
  // The source is not on the device planned (the healed mount was replaced meanwhile).
  assert.deepEqual(await s.runner.graft({ ...good, sourceDevice: '0:1' }), {
    ok: false,
    errno: 'EXDEV',
    step: 'source-device',
  });
  // The owner swapped the subPath directory for a symlink to a host directory.
  const swapped = path.join(s.fresh, 'etc-link');
  fs.symlinkSync('/etc', swapped);
  assert.deepEqual(await s.runner.graft({ ...good, source: swapped }), {
    ok: false,
    errno: 'ELOOP',
    step: 'open-source',
  });
  assert.deepEqual(seenFrom(pid, s.target).files, ['STALE'], 'no refused graft changed the namespace');
});
