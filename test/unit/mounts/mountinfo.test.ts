import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseMountinfo, parseMountinfoLine } from '../../../src/mounts/mountinfo/parse.js';
import { escapeMountinfoPath, unescapeOctal } from '../../../src/mounts/mountinfo/unescape.js';

// The example from Documentation/filesystems/proc.rst.
test('parses every field of the documented mountinfo example', () => {
  const m = parseMountinfoLine('36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue');
  assert.deepEqual(m, {
    id: 36,
    parentId: 35,
    major: 98,
    minor: 0,
    root: '/mnt1',
    mountpoint: '/mnt/parent',
    options: ['rw', 'noatime'],
    optionalFields: ['master:1'],
    fstype: 'ext3',
    type: 'ext3',
    subtype: null,
    source: '/dev/root',
    superOptions: ['rw', 'errors=continue'],
    deleted: false,
  });
});

test('splits a FUSE fstype into type and subtype and keeps the source', () => {
  const m = parseMountinfoLine(
    '43 27 0:40 / /mnt/remote rw,nosuid,nodev,relatime shared:5 - fuse.sshfs user@host:/data rw,user_id=1000,group_id=1000',
  )!;
  assert.equal(m.fstype, 'fuse.sshfs');
  assert.equal(m.type, 'fuse');
  assert.equal(m.subtype, 'sshfs');
  assert.equal(m.source, 'user@host:/data');
  assert.equal(m.minor, 40);
  assert.deepEqual(m.optionalFields, ['shared:5']);
  assert.deepEqual(m.superOptions, ['rw', 'user_id=1000', 'group_id=1000']);
});

test('handles zero, one and several optional fields', () => {
  const none = parseMountinfoLine('1 0 0:1 / / rw - ext4 /dev/vda rw')!;
  assert.deepEqual(none.optionalFields, []);
  const many = parseMountinfoLine('2 1 0:2 / /a rw shared:1 master:2 propagate_from:3 unbindable - tmpfs tmpfs rw')!;
  assert.deepEqual(many.optionalFields, ['shared:1', 'master:2', 'propagate_from:3', 'unbindable']);
  assert.equal(many.fstype, 'tmpfs');
});

test('undoes the octal escapes for space, tab, newline and backslash', () => {
  const m = parseMountinfoLine('50 27 0:45 / /mnt/a\\040b\\011c\\012d\\134e rw - fuse.rclone r:\\040x rw')!;
  assert.equal(m.mountpoint, '/mnt/a b\tc\nd\\e');
  assert.equal(m.source, 'r: x');
});

test('decodes non-ASCII mountpoints as UTF-8', () => {
  const bytes = Buffer.from('51 27 0:46 / /mnt/données-日本 rw - fuse.sshfs h:/ rw', 'utf8').toString('latin1');
  assert.equal(parseMountinfoLine(bytes)!.mountpoint, '/mnt/données-日本');
});

test('strips the //deleted suffix and flags it', () => {
  const m = parseMountinfoLine('60 27 0:50 /gone//deleted /mnt/x rw - tmpfs tmpfs rw')!;
  assert.equal(m.root, '/gone');
  assert.equal(m.deleted, true);
});

test('a line without the separator is rejected with its line number', () => {
  assert.equal(parseMountinfoLine('36 35 98:0 /mnt1 /mnt/parent rw ext3 /dev/root rw'), null);
  assert.throws(() => parseMountinfo('1 0 0:1 / / rw - ext4 /dev/vda rw\ngarbage\n'), /mountinfo line 2 is malformed/);
});

test('property: escaping a path as the kernel does, then parsing, gives back the path', () => {
  const pathChar = fc.oneof(
    fc.constantFrom(' ', '\t', '\n', '\\', '/', '-', '.', 'é', '日', '😀', '#', '$', '(', ')'),
    fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }),
  );
  fc.assert(
    fc.property(fc.array(pathChar, { minLength: 1, maxLength: 40 }), (chars) => {
      const p = `/mnt/${chars.join('')}`.replace(/\0/g, '');
      // escapeMountinfoPath returns the kernel's bytes (as a latin1 string), like a read of the file.
      const line = `42 27 0:40 / ${escapeMountinfoPath(p)} rw - fuse.sshfs u@h:/ rw`;
      const m = parseMountinfoLine(line);
      assert.ok(m, `parse failed for ${JSON.stringify(p)}`);
      assert.equal(m.mountpoint, p);
    }),
    { numRuns: 500 },
  );
});

test('unescapeOctal leaves lone backslashes and short sequences alone', () => {
  assert.equal(unescapeOctal('a\\04'), 'a\\04');
  assert.equal(unescapeOctal('\\040\\040'), '  ');
});
