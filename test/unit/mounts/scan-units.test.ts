import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyProbeErrno } from '../../../src/mounts/probe/classify.js';
import { selectMounts, typeMatches, type ScanReport } from '../../../src/mounts/scan.js';
import { parseMountinfo } from '../../../src/mounts/mountinfo/parse.js';
import { parseDuration } from '../../../src/util/duration.js';
import { npdLine, renderScan } from '../../../src/cli/scan.js';
import { printable } from '../../../src/cli/render.js';

test('probe errnos map to the DESIGN states', () => {
  assert.equal(classifyProbeErrno('ENOTCONN'), 'dead');
  assert.equal(classifyProbeErrno('ECONNABORTED'), 'dead');
  assert.equal(classifyProbeErrno('ESTALE'), 'stale');
  assert.equal(classifyProbeErrno('EIO'), 'io-error');
  assert.equal(classifyProbeErrno('EACCES'), 'denied');
  assert.equal(classifyProbeErrno('EPERM'), 'denied');
  assert.equal(classifyProbeErrno('EHOSTDOWN'), 'unknown');
});

test('durations: ms, s, m with a unit; a bare number and garbage are usage errors', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2s'), 2000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('1m'), 60000);
  assert.throws(() => parseDuration('250', '--timeout'), {
    code: 'ENC_USAGE',
    message: /invalid --timeout '250': a unit is required/,
  });
  assert.throws(() => parseDuration('soon', '--timeout'), { code: 'ENC_USAGE', message: /invalid --timeout 'soon'/ });
  assert.throws(() => parseDuration('0s'), { code: 'ENC_USAGE' });
});

test('fstype patterns: fuse.* covers subtypes but not bare fuse', () => {
  assert.ok(typeMatches('fuse.sshfs', ['fuse.*']));
  assert.ok(!typeMatches('fuse', ['fuse.*']));
  assert.ok(typeMatches('fuse', ['fuse']));
  assert.ok(!typeMatches('fusectl', ['fuse', 'fuse.*']));
});

test('selection: default types, --all, and path filters', () => {
  const mounts = parseMountinfo(
    [
      '1 0 0:1 / / rw - ext4 /dev/vda rw',
      '2 1 0:2 / /sys/fs/fuse/connections rw - fusectl fusectl rw',
      '3 1 0:3 / /mnt/a rw - fuse.sshfs h:/ rw',
      '4 1 0:4 / /mnt/ab rw - nfs4 s:/ rw',
      '5 1 0:5 / /mnt/a/sub rw - fuse /x rw',
    ].join('\n'),
  );
  assert.deepEqual(
    selectMounts(mounts, { all: false, types: null }).map((m) => m.id),
    [3, 4, 5],
  );
  assert.deepEqual(
    selectMounts(mounts, { all: true, types: null }).map((m) => m.id),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(
    selectMounts(mounts, { all: false, types: null, paths: ['/mnt/a'] }).map((m) => m.id),
    [3, 5],
  );
});

test('the npd line is cut to 80 characters', () => {
  const many: ScanReport = {
    host: 'h',
    scannedAt: '',
    durationMs: 1,
    mounts: Array.from({ length: 10 }, (_, i) => ({
      id: i,
      mountpoint: `/mnt/a-rather-long-mountpoint-name-${i}`,
      source: 's',
      fstype: 'fuse.sshfs',
      backend: 'sshfs',
      options: [],
      mountOptions: [],
      state: 'dead' as const,
      errno: 'ENOTCONN',
    })),
  };
  const line = npdLine(many);
  assert.equal(line.length, 80);
  assert.ok(line.startsWith('10 bad: /mnt/a-rather-long-mountpoint-name-0 dead(ENOTCONN)'));
  assert.ok(line.endsWith('...'));
});

test('control characters in paths are shown escaped so each mount stays on one row', () => {
  assert.equal(printable('/mnt/a\nb\tc\\d'), '/mnt/a\\x0ab\\x09c\\\\d');
  const text = renderScan({ host: 'h', scannedAt: '', durationMs: 3, mounts: [] }, false);
  assert.match(text, /^No network or FUSE mounts on h/);
});
