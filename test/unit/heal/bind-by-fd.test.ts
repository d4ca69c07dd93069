// A topology bind step where the native helper can: made by file descriptors (Host.bindTree), of
// exactly the inode the stat child checked, with its flags set before the bind is attached, and
// never redone with mount(8) when the helper refuses. On the honest FakeHost, whose bindTree
// resolves paths as openat2 RESOLVE_NO_SYMLINKS does. Each test plays the FUSE owner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeHost } from '../../../src/host/fake-host.js';
import type { PlanStep } from '../../../src/mounts/diagnosis.js';
import { identityOf } from '../../../src/mounts/mountinfo/identity.js';
import type { MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import { runTopologySteps, type StepContext } from '../../../src/mounts/heal/steps.js';
import { fakeHostInTempDir } from '../../helpers/fake-host.js';

const MP = '/srv/data/mnt';
const SUB_DEV = 61; // st_dev of files on the healed mount 0:61

function fake(helper: boolean): { host: FakeHost; healed: MountInfo; ctx: StepContext } {
  const { host } = fakeHostInTempDir('enc-trust-bindfd-');
  host.bindHelper = helper;
  const healed = host.addMount({
    id: 90,
    mountpoint: MP,
    fstype: 'fuse',
    source: '/srv/data/src',
    major: 0,
    minor: 61,
    options: ['rw', 'nosuid', 'nodev', 'relatime'],
    superOptions: ['rw', 'user_id=1001', 'group_id=1001'],
  });
  host.addDir(`${MP}/sub`, { uid: 1001, dev: SUB_DEV });
  host.addDir('/b/sub');
  return { host, healed, ctx: { host, force: false, healId: 'fd', origin: 'heal', parents: null } };
}

const rebind: PlanStep = {
  action: 'remount',
  argv: ['/usr/bin/mount', '--bind', '--no-canonicalize', `${MP}/sub`, '/b/sub'],
  risk: 'safe',
  why: 're-bind',
  phase: 'after-remount',
  mountAttrs: ['nosuid', 'nodev', 'noexec'],
};
const flags: PlanStep = {
  action: 'remount',
  argv: ['/usr/bin/mount', '-o', 'remount,bind,nosuid,nodev,noexec', '--no-canonicalize', '/b/sub'],
  risk: 'safe',
  why: 'its own options',
  phase: 'after-remount',
};

function mountExecs(host: FakeHost): string[][] {
  return host.execs().filter((a) => a[0] === '/usr/bin/mount');
}

test('with the helper: the bind is made by file descriptors with its flags, and the flag remount has nothing left to do', async () => {
  const { host, healed, ctx } = fake(true);
  const run = await runTopologySteps(ctx, [rebind, flags], { healed: identityOf(healed) });
  assert.equal(run.ok, true, run.problem ?? '');
  assert.deepEqual(mountExecs(host), [], 'mount(8) never ran');
  const b = host.mounts.filter((m) => m.mountpoint === '/b/sub');
  assert.equal(b.length, 1);
  assert.deepEqual([b[0]!.major, b[0]!.minor, b[0]!.root], [0, 61, '/sub']);
  assert.deepEqual(b[0]!.options, ['rw', 'nosuid', 'nodev', 'relatime', 'noexec']);
  assert.match(run.results[0]!.output, /^bound by file descriptors/);
  assert.equal(run.results[1]!.skipped, true);
  assert.equal(run.results[1]!.output, '/b/sub already has nosuid,nodev,noexec');
});

test('the source swapped for a symlink right after the stat child looked: nothing is bound, and mount(8) is not tried', async () => {
  const { host, healed, ctx } = fake(true);
  // The owner wins the race: the swap lands between the lstat checks and the bind.
  host.handlers.push((argv) => {
    if (argv[0]?.endsWith('stat') && argv.includes(`${MP}/sub`)) {
      queueMicrotask(() =>
        host.inodes.set(`${MP}/sub`, { dev: SUB_DEV, ino: 4242, uid: 1001, gid: 1001, type: 'symlink' }),
      );
    }
    return null;
  });
  const run = await runTopologySteps(ctx, [rebind], { healed: identityOf(healed) });
  assert.equal(run.ok, false);
  assert.match(
    run.results[0]!.refused ?? '',
    /the path changed after it was checked \(openat2: ELOOP\); nothing was bound/,
  );
  assert.deepEqual(mountExecs(host), []);
  assert.equal(host.mounts.filter((m) => m.mountpoint === '/b/sub').length, 0);
});

test('the source replaced by another directory after the check: the inode differs, nothing is bound', async () => {
  const { host, healed, ctx } = fake(true);
  host.handlers.push((argv) => {
    if (argv[0]?.endsWith('stat') && argv.includes(`${MP}/sub`)) {
      queueMicrotask(() => host.inodes.set(`${MP}/sub`, { dev: SUB_DEV, ino: 777, uid: 1001, gid: 1001, type: 'dir' }));
    }
    return null;
  });
  const run = await runTopologySteps(ctx, [rebind], { healed: identityOf(healed) });
  assert.match(run.results[0]!.refused ?? '', /\(source: ESTALE\)/);
  assert.equal(host.mounts.filter((m) => m.mountpoint === '/b/sub').length, 0);
});

test('a source that is not on the healed mount (another filesystem mounted there) is refused before the helper is asked', async () => {
  const { host, healed, ctx } = fake(true);
  host.addDir(`${MP}/sub`, { uid: 1001, dev: 2049 });
  const run = await runTopologySteps(ctx, [rebind], { healed: identityOf(healed) });
  assert.match(run.results[0]!.refused ?? '', /is on device 2049, not on the mount it is bound from \(61\)/);
  assert.deepEqual(
    host.actions.filter((a) => a.kind === 'bind-tree'),
    [],
  );
});

test('without the helper the step falls back to mount(8), after the same checks', async () => {
  const { host, healed, ctx } = fake(false);
  const run = await runTopologySteps(ctx, [rebind, flags], { healed: identityOf(healed) });
  assert.equal(run.ok, true, run.problem ?? '');
  assert.deepEqual(mountExecs(host), [rebind.argv, flags.argv]);
});
