// Re-graft planning (pure) and the executor's graft step on the honest FakeHost: which copy is
// grafted from where, with which flags, and what the step refuses (a reused pid, a namespace
// changed, a copy showing a subtree the healed mount does not have).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeHost } from '../../../src/host/fake-host.js';
import type { NamespaceView } from '../../../src/mounts/diagnosis.js';
import { graftSource, graftSteps, showGraft } from '../../../src/mounts/heal/regraft.js';
import { runStep, type StepContext } from '../../../src/mounts/heal/steps.js';
import type { MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import { fakeHostInTempDir } from '../../helpers/fake-host.js';

const NS = 'mnt:[4026532999]';

function view(copies: NamespaceView['copies'], pidStart: number | null = 500): NamespaceView {
  return { mntns: NS, pids: [4242], comm: 'sh', mountpoint: copies[0]!.mountpoint, copies, pidStart };
}

test('graftSource maps a copy root onto the healed mount, or refuses what it does not contain', () => {
  assert.equal(graftSource('/mnt/fuse', '/', '/'), '/mnt/fuse');
  assert.equal(graftSource('/mnt/fuse', '/', '/sub/dir'), '/mnt/fuse/sub/dir');
  assert.equal(graftSource('/mnt/fuse', '/a', '/a/b'), '/mnt/fuse/b');
  assert.equal(graftSource('/mnt/fuse', '/a', '/a'), '/mnt/fuse');
  assert.equal(graftSource('/mnt/fuse', '/a', '/ab'), null);
  assert.equal(graftSource('/mnt/fuse', '/a', '/'), null);
  assert.equal(graftSource('/mnt/fuse', '/', '/gone//deleted'), null);
});

test('graftSteps: whole mount, subPath and read-only copies keep their root and flags; nested copies detach nothing', () => {
  const steps = graftSteps(
    [
      view([
        { mountId: 10, mountpoint: '/data', root: '/', options: ['rw', 'nosuid', 'nodev', 'relatime'] },
        { mountId: 11, mountpoint: '/cfg', root: '/etc-sub', options: ['ro', 'nosuid', 'nodev', 'noexec'] },
        { mountId: 12, mountpoint: '/data/inner', root: '/inner', options: ['rw'] },
        { mountId: 13, mountpoint: '/other', root: '/x//deleted', options: ['rw'] },
      ]),
    ],
    { mountpoint: '/mnt/fuse', root: '/', device: '0:77' },
  );
  assert.deepEqual(
    steps.map((s) => s.graft ?? s.action),
    [
      {
        pid: 4242,
        pidStart: 500,
        mntns: NS,
        source: '/mnt/fuse',
        sourceDevice: '0:77',
        root: '/',
        target: '/data',
        staleMountId: 10,
        attrs: { ro: false, nosuid: true, nodev: true, noexec: false },
      },
      {
        pid: 4242,
        pidStart: 500,
        mntns: NS,
        source: '/mnt/fuse/etc-sub',
        sourceDevice: '0:77',
        root: '/etc-sub',
        target: '/cfg',
        staleMountId: 11,
        attrs: { ro: true, nosuid: true, nodev: true, noexec: true },
      },
      'none',
      {
        pid: 4242,
        pidStart: 500,
        mntns: NS,
        source: '/mnt/fuse/inner',
        sourceDevice: '0:77',
        root: '/inner',
        target: '/data/inner',
        staleMountId: null,
        attrs: { ro: false, nosuid: false, nodev: false, noexec: false },
      },
    ],
  );
  assert.match(steps[2]!.why, /cannot re-attach \/other .* shows \/x\/\/deleted/);
  assert.equal(
    showGraft(steps[1]!.graft!),
    `graft [helper] /mnt/fuse/etc-sub -> ${NS}:/cfg via pid 4242, detaching mount 11 (ro,nosuid,nodev,noexec)`,
  );
});

test('graftSteps: of two copies stacked on one path only the top one is replaced', () => {
  const steps = graftSteps(
    [
      view([
        { mountId: 10, mountpoint: '/data', root: '/', options: ['rw'] },
        { mountId: 14, mountpoint: '/data', root: '/', options: ['ro'] },
      ]),
    ],
    { mountpoint: '/mnt/fuse', root: '/', device: null },
  );
  assert.equal(steps.length, 1);
  assert.equal(steps[0]!.graft?.staleMountId, 14);
  assert.equal(steps[0]!.graft?.attrs.ro, true);
  assert.equal(steps[0]!.graft?.sourceDevice, '', 'no device before the heal (dry run)');
});

function fakeWithNamespace(): { host: FakeHost; healed: MountInfo; ctx: StepContext } {
  const { host } = fakeHostInTempDir('enc-graft-fake-');
  const healed = host.addMount({
    id: 90,
    mountpoint: '/mnt/fuse',
    fstype: 'fuse',
    source: '/src',
    major: 0,
    minor: 77,
  });
  const stale: MountInfo = {
    ...healed,
    id: 10,
    parentId: 2,
    major: 0,
    minor: 55,
    mountpoint: '/data',
    root: '/sub',
    options: ['ro', 'nosuid'],
  };
  host.addProcess({
    pid: 4242,
    argv: ['sh'],
    uid: 0,
    gid: 0,
    startTicks: 500,
    mntns: {
      inode: 4026532999,
      mounts: [{ ...healed, id: 2, parentId: 1, mountpoint: '/', fstype: 'overlay' }, stale],
    },
  });
  return { host, healed, ctx: { host, force: false, healId: 't', origin: 'heal', parents: null } };
}

const planned = (): ReturnType<typeof graftSteps>[number] =>
  graftSteps([view([{ mountId: 10, mountpoint: '/data', root: '/sub', options: ['ro', 'nosuid'] }])], {
    mountpoint: '/mnt/fuse',
    root: '/',
    device: '0:77',
  })[0]!;

test('the graft step asks the helper for exactly the planned graft, then checks the namespace shows it', async () => {
  const { host, ctx } = fakeWithNamespace();
  const r = await runStep(ctx, planned(), 0);
  assert.equal(r.ok, true, r.output);
  assert.deepEqual(
    host.actions.filter((a) => a.kind === 'graft'),
    [
      {
        kind: 'graft',
        req: {
          pid: 4242,
          mntnsInode: 4026532999,
          source: '/mnt/fuse/sub',
          sourceDevice: '0:77',
          target: '/data',
          staleMountId: 10,
          attrs: { ro: true, nosuid: true, nodev: false, noexec: false },
          timeoutMs: 5000,
        },
      },
    ],
  );
  assert.match(r.output, /^mount \d+ \(0:77 \/sub, ro,nosuid\) at \/data in mnt:\[4026532999\]$/);
  // Nothing was executed: no exec, no spawn.
  assert.deepEqual(
    host.actions.filter((a) => a.kind === 'exec' || a.kind === 'spawn'),
    [],
  );
  // Run again: the namespace already shows the healed mount, nothing is asked of the helper.
  const again = await runStep(ctx, planned(), 1);
  assert.equal(again.skipped, true);
  assert.equal(host.actions.filter((a) => a.kind === 'graft').length, 1);
});

test('the graft step refuses a reused pid and a pid that left the namespace, and asks nothing', async () => {
  const { host, ctx } = fakeWithNamespace();
  host.processes.get(4242)!.startTicks = 501;
  const reused = await runStep(ctx, planned(), 0);
  assert.equal(reused.ok, false);
  assert.match(reused.refused ?? '', /pid 4242 is another process now/);
  host.processes.get(4242)!.startTicks = 500;
  host.processes.get(4242)!.mntns!.inode = 4026533000;
  const moved = await runStep(ctx, planned(), 1);
  assert.match(moved.refused ?? '', /no longer in mount namespace mnt:\[4026532999\]/);
  const unbound = await runStep(ctx, { ...planned(), graft: { ...planned().graft!, sourceDevice: '' } }, 2);
  assert.match(unbound.refused ?? '', /healed mount is not known yet/);
  assert.deepEqual(
    host.actions.filter((a) => a.kind === 'graft'),
    [],
  );
});

test('a failed graft is a failed step with the helper step and errno', async () => {
  const { host, ctx } = fakeWithNamespace();
  host.graftAnswers.push({ ok: false, errno: 'ELOOP', step: 'open-source' });
  const r = await runStep(ctx, planned(), 0);
  assert.equal(r.ok, false);
  assert.equal(r.skipped, false);
  assert.equal(r.output, 'graft failed (open-source: ELOOP)');
});
