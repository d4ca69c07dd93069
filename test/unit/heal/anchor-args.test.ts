// A daemon started with relative paths that has changed directory since (libfuse daemonizing to
// "/", bindfs into its source): its recorded argv names the mountpoint and the source by the
// absolute paths the kernel shows, never paths its new cwd would give them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anchorRelativeArgs } from '../../../src/mounts/heal/recipes.js';

const mount = { mountpoint: '/srv/enc/mnt', source: '/srv/enc/data' };

test('bindfs started as `cd /srv/enc && bindfs data mnt`, now in its source: both paths anchored', () => {
  const r = anchorRelativeArgs(['bindfs', '-o', 'ro', 'data', 'mnt'], '/srv/enc/data', mount);
  assert.deepEqual(r.argv, ['bindfs', '-o', 'ro', '/srv/enc/data', '/srv/enc/mnt']);
  assert.equal(r.notes.length, 2);
  assert.match(r.notes[1]!, /argument mnt .*\(now \/srv\/enc\/data\), so the recipe names \/srv\/enc\/mnt/);
});

test('a libfuse daemon that went to / after a relative start: the mountpoint anchored', () => {
  const r = anchorRelativeArgs(['sshfs', 'u@h:/x', 'enc/mnt', '-o', 'reconnect'], '/', {
    mountpoint: '/srv/enc/mnt',
    source: 'u@h:/x',
  });
  assert.deepEqual(r.argv, ['sshfs', 'u@h:/x', '/srv/enc/mnt', '-o', 'reconnect']);
});

test('relative paths that still mean what they meant are kept', () => {
  const r = anchorRelativeArgs(['bindfs', 'data', 'mnt'], '/srv/enc', mount);
  assert.deepEqual(r.argv, ['bindfs', 'data', 'mnt']);
  assert.deepEqual(r.notes, []);
});

test('an argument that is no tail of the mountpoint or source, an option value, or ambiguous, is kept', () => {
  assert.deepEqual(anchorRelativeArgs(['rclone', 'mount', '--config', 'rc.conf', 'r:', 'mnt'], '/', mount).argv, [
    'rclone',
    'mount',
    '--config',
    'rc.conf',
    'r:',
    '/srv/enc/mnt',
  ]);
  assert.deepEqual(anchorRelativeArgs(['bindfs', '-o', 'mnt', 'x'], '/', mount).argv, ['bindfs', '-o', 'mnt', 'x']);
  assert.deepEqual(anchorRelativeArgs(['bindfs', '../mnt'], '/', mount).argv, ['bindfs', '../mnt']);
  const same = { mountpoint: '/a/data', source: '/b/data' };
  assert.deepEqual(anchorRelativeArgs(['bindfs', 'data', 'data'], '/', same).argv, ['bindfs', 'data', 'data']);
});
