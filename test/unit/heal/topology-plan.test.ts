// The topology a heal must restore, planned from a mount table (pure: no mounts are touched).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healTarget, planTopology, validateTopology } from '../../../src/mounts/heal/topology-plan.js';
import { checkIdentity, findReplacement, identityOf } from '../../../src/mounts/mountinfo/identity.js';
import { parseMountinfo } from '../../../src/mounts/mountinfo/parse.js';
import { topologyOf } from '../../../src/mounts/mountinfo/topology.js';

const FUSE = 'fuse /srv/data rw,user_id=0,group_id=0,default_permissions,allow_other';
const TABLE = parseMountinfo(
  [
    '1 0 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    `44 1 0:39 / /mnt/data rw,nosuid,nodev,relatime - ${FUSE}`,
    `45 1 0:39 /sub /b/sub rw,nosuid,nodev,noexec,relatime - ${FUSE}`,
    `46 1 0:39 /gone//deleted /b/gone rw,nosuid,nodev,relatime - ${FUSE}`,
    '47 44 0:41 / /mnt/data/inner rw,nosuid,nodev,relatime - fuse /srv/inner rw,user_id=0,group_id=0',
    `48 44 0:39 /x /mnt/data/x-bind rw,nosuid,nodev,relatime - ${FUSE}`,
    '',
  ].join('\n'),
);
const byId = (id: number) => TABLE.find((m) => m.id === id)!;

test('a bind of a subtree is healed through the mount that shows the whole filesystem', () => {
  const t = healTarget(TABLE, byId(45));
  assert.ok('target' in t);
  assert.equal(t.target.id, 44);
  const only = TABLE.filter((m) => m.id !== 44 && m.id !== 48);
  const r = healTarget(only, byId(45));
  assert.ok('refusal' in r);
  assert.match(r.refusal, /no mount of that filesystem shows its root/);
});

test('the plan re-binds each bind from its own root, keeps children aside, and leaves a deleted root alone', () => {
  const p = planTopology(TABLE, byId(44), { stageRoot: '/run/enotconn/stage/1' });
  assert.equal(p.refusal, null);
  assert.deepEqual(
    p.before.map((s) => s.argv),
    [
      ['/usr/bin/mount', '--rbind', '--no-canonicalize', '/mnt/data/inner', '/run/enotconn/stage/1/child-0'],
      ['/usr/bin/umount', '--no-canonicalize', '-l', '--', '/mnt/data/inner'],
      ['/usr/bin/umount', '--no-canonicalize', '-l', '--', '/mnt/data/x-bind'],
    ],
  );
  assert.deepEqual(
    p.after.map((s) => s.argv),
    [
      ['/usr/bin/mount', '--rbind', '--no-canonicalize', '/run/enotconn/stage/1/child-0', '/mnt/data/inner'],
      ['/usr/bin/umount', '--no-canonicalize', '-l', '--', '/run/enotconn/stage/1/child-0'],
      ['/usr/bin/umount', '--no-canonicalize', '-l', '--', '/b/sub'],
      ['/usr/bin/mount', '--bind', '--no-canonicalize', '/mnt/data/sub', '/b/sub'],
      ['/usr/bin/mount', '-o', 'remount,bind,nosuid,nodev,noexec', '--no-canonicalize', '/b/sub'],
      ['/usr/bin/mount', '--bind', '--no-canonicalize', '/mnt/data/x', '/mnt/data/x-bind'],
    ],
  );
  assert.deepEqual(
    p.leftDead.map((d) => d.mount.mountpoint),
    ['/b/gone'],
  );
  // Every step that acts on an existing mount names it, so the executor can re-check it first.
  assert.equal(p.before[0]!.mount?.id, 47);
  assert.equal(p.after[2]!.mount?.id, 45);
});

test('a mount hidden under another on the same path is refused before anything is done', () => {
  const stacked = parseMountinfo(
    [
      '1 0 254:0 / / rw - ext4 /dev/vda rw',
      '50 1 0:50 / /m rw,nosuid,nodev - fuse /lower rw,user_id=0,group_id=0',
      '51 50 0:51 / /m rw,nosuid,nodev - fuse /upper rw,user_id=0,group_id=0',
      '',
    ].join('\n'),
  );
  const lower = stacked[1]!;
  const p = planTopology(stacked, lower, { stageRoot: '/s' });
  assert.match(p.refusal?.message ?? '', /hidden under mount 51/);
  assert.equal(topologyOf(stacked, lower).stackedUnder?.id, 51);
  assert.equal(topologyOf(stacked, stacked[2]!).stackedOn?.id, 50);
  // The upper's replacement is found on top of the lower, never the lower itself.
  const afterUnmount = new Set([1, 50]);
  assert.equal(findReplacement(stacked.slice(0, 2), identityOf(stacked[2]!), afterUnmount), null);
  const healed = parseMountinfo('52 50 0:52 / /m rw - fuse /upper rw,user_id=0,group_id=0\n')[0]!;
  assert.equal(findReplacement([...stacked.slice(0, 2), healed], identityOf(stacked[2]!), afterUnmount)?.id, 52);
});

test('identity: a path that now names another mount, or a mount with children, stops the step', () => {
  const want = identityOf(byId(44));
  assert.equal(checkIdentity(TABLE, want).ok, true);
  const lazy = checkIdentity(TABLE, want, { noChildren: true });
  assert.equal(lazy.ok, false);
  assert.match(!lazy.ok ? lazy.reason : '', /a lazy unmount would detach them too/);
  const swapped = TABLE.map((m) => (m.id === 44 ? { ...m, minor: 99 } : m));
  const r = checkIdentity(swapped, want);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /now names mount 44 \(0:99\)/);
});

test('validateTopology reports a bind that came back with another root or without its options', () => {
  const healed = parseMountinfo(`60 1 0:60 / /mnt/data rw,nosuid,nodev - ${FUSE}\n`)[0]!;
  const after = parseMountinfo(
    [`60 1 0:60 / /mnt/data rw,nosuid,nodev - ${FUSE}`, `61 1 0:60 / /b/sub rw,nosuid,nodev - ${FUSE}`, ''].join('\n'),
  );
  assert.deepEqual(
    validateTopology(after, healed, [
      { kind: 'bind', mountpoint: '/b/sub', root: '/sub', device: null, options: ['rw', 'nosuid', 'noexec'] },
    ]),
    ['bind /b/sub shows root /, not /sub', 'bind /b/sub lost noexec'],
  );
});
