// After a crash, what is left of a heal's topology steps is read from the mount table alone
// (topology-resume.ts): which children were set aside, which steps still have to run, and how the
// staging is undone. Pure: tables in, decisions out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFailpoint } from '../../../src/host/failpoint.js';
import { planTopology } from '../../../src/mounts/heal/topology-plan.js';
import { journalTopology, rollbackSteps, stepDone, topologyTouched } from '../../../src/mounts/heal/topology-resume.js';
import { parseMountinfo, type MountInfo } from '../../../src/mounts/mountinfo/parse.js';

const FUSE = 'fuse /srv/data rw,user_id=0,group_id=0,default_permissions,allow_other';
const CHILD = 'fuse /srv/inner rw,user_id=0,group_id=0';
const STAGE = '/run/enotconn/stage/7-1/child-0';
const ROOT = '1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw';

function table(...lines: string[]): MountInfo[] {
  return parseMountinfo([ROOT, ...lines, ''].join('\n'));
}

// The heal's plan, made on the table before anything ran: a dead /mnt/data with a child and a bind.
const START = table(
  `44 1 0:39 / /mnt/data rw,nosuid,nodev,relatime - ${FUSE}`,
  `47 44 0:41 / /mnt/data/inner rw,nosuid,nodev,relatime - ${CHILD}`,
  `45 1 0:39 /sub /b/sub rw,nosuid,nodev,noexec,relatime - ${FUSE}`,
);
const TOPO = journalTopology(planTopology(START, START[1]!, { stageRoot: '/run/enotconn/stage/7-1' }));
const [rbindAside, detachChild] = TOPO.before;
const [reattach, dropCopy, detachBind, rebind, rebindOpts] = TOPO.after;

test('nothing ran: the topology is untouched, and the rollback has nothing to undo', () => {
  assert.equal(topologyTouched(START, TOPO), false);
  assert.deepEqual(rollbackSteps(START, TOPO, { mount: '/usr/bin/mount', umount: '/usr/bin/umount' }), []);
});

test('killed after the child was copied aside: the detach is still to run; the rollback drops the copy', () => {
  const now = table(
    `44 1 0:39 / /mnt/data rw,nosuid,nodev,relatime - ${FUSE}`,
    `47 44 0:41 / /mnt/data/inner rw,nosuid,nodev,relatime - ${CHILD}`,
    `45 1 0:39 /sub /b/sub rw,nosuid,nodev,noexec,relatime - ${FUSE}`,
    `60 1 0:41 / ${STAGE} rw,nosuid,nodev,relatime - ${CHILD}`,
  );
  assert.equal(topologyTouched(now, TOPO), true);
  assert.equal(stepDone(now, rbindAside!, TOPO, null), true);
  assert.equal(stepDone(now, detachChild!, TOPO, null), false);
  assert.deepEqual(
    rollbackSteps(now, TOPO, { mount: '/usr/bin/mount', umount: '/usr/bin/umount' }).map((s) => s.argv),
    [['/usr/bin/umount', '--no-canonicalize', '-l', '--', STAGE]],
  );
});

test('killed after the child was detached: putting it back binds the copy onto its path, then drops the copy', () => {
  const now = table(
    `44 1 0:39 / /mnt/data rw,nosuid,nodev,relatime - ${FUSE}`,
    `45 1 0:39 /sub /b/sub rw,nosuid,nodev,noexec,relatime - ${FUSE}`,
    `60 1 0:41 / ${STAGE} rw,nosuid,nodev,relatime - ${CHILD}`,
  );
  assert.equal(stepDone(now, detachChild!, TOPO, null), true);
  assert.deepEqual(
    rollbackSteps(now, TOPO, { mount: '/usr/bin/mount', umount: '/usr/bin/umount' }).map((s) => s.argv),
    [
      ['/usr/bin/mount', '--rbind', '--no-canonicalize', STAGE, '/mnt/data/inner'],
      ['/usr/bin/umount', '--no-canonicalize', '-l', '--', STAGE],
    ],
  );
});

test('after the remount, each step after it is pending until the table shows it done', () => {
  const healed = `70 1 0:39 / /mnt/data rw,nosuid,nodev,relatime - ${FUSE}`;
  let now = table(
    healed,
    `45 1 0:39 /sub /b/sub rw,nosuid,nodev,noexec,relatime - ${FUSE}`,
    `60 1 0:41 / ${STAGE} rw - ${CHILD}`,
  );
  const h = (): MountInfo => now.find((m) => m.id === 70)!;
  assert.deepEqual(
    [reattach, dropCopy, detachBind, rebind, rebindOpts].map((s) => stepDone(now, s!, TOPO, h())),
    [false, false, false, false, false],
  );
  // The child re-attached, its copy dropped, the dead bind detached and bound again with its options.
  now = table(
    healed,
    `61 70 0:41 / /mnt/data/inner rw,nosuid,nodev,relatime - ${CHILD}`,
    `62 1 0:39 /sub /b/sub rw,nosuid,nodev,noexec,relatime - ${FUSE}`,
  );
  assert.deepEqual(
    [reattach, dropCopy, detachBind, rebind, rebindOpts].map((s) => stepDone(now, s!, TOPO, h())),
    [true, true, true, true, true],
  );
});

test('a staging copy that is gone is never bound: the child’s path would get the empty staging directory', () => {
  const now = table(`70 1 0:39 / /mnt/data rw,nosuid,nodev,relatime - ${FUSE}`);
  assert.equal(stepDone(now, reattach!, TOPO, now[1]!), true);
});

test('the failpoint takes after-step:ACTION[:ORIGIN] and nothing else', () => {
  assert.deepEqual(parseFailpoint('after-step:unmount-lazy:supervisor'), {
    action: 'unmount-lazy',
    origin: 'supervisor',
  });
  assert.deepEqual(parseFailpoint('after-step:remount'), { action: 'remount', origin: null });
  for (const bad of [undefined, '', 'before-step:remount', 'after-step:', 'after-step:remount:watch:x']) {
    assert.equal(parseFailpoint(bad), null, String(bad));
  }
});
