// The exact argv and cgroup writes of a daemon launch. The systemd path runs live only where systemd
// is PID 1 (not this build machine), so its argv is pinned here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import {
  cgroup2Mount,
  daemonUnitName,
  planLaunch,
  systemdEscapePath,
  type LaunchContext,
} from '../../../src/host/daemon-launch.js';

const exists = (p: string): boolean => ['/usr/bin/sshfs', '/usr/bin/bindfs', '/usr/bin/setpriv'].includes(p);

test('mountpoints are escaped exactly as systemd-escape --path does', () => {
  const cases = ['/mnt/remote', '/', '/mnt/a b/c-d', '//srv//x/', '/home/.hidden', '/mnt/ünï', '/x/./y', '/a:b_c.d'];
  const expected: Record<string, string> = {
    '/mnt/remote': 'mnt-remote',
    '/': '-',
    '/mnt/a b/c-d': 'mnt-a\\x20b-c\\x2dd',
    '//srv//x/': 'srv-x',
    '/home/.hidden': 'home-.hidden',
    '/mnt/ünï': 'mnt-\\xc3\\xbcn\\xc3\\xaf',
    '/x/./y': 'x-y',
    '/a:b_c.d': 'a:b_c.d',
  };
  for (const c of cases) assert.equal(systemdEscapePath(c), expected[c], c);
  const real = spawnSync('/usr/bin/systemd-escape', ['--path', ...cases.filter((c) => c !== '/x/./y')], {
    encoding: 'utf8',
  });
  if (real.status === 0) {
    assert.deepEqual(
      real.stdout.trim().split(' '),
      cases.filter((c) => c !== '/x/./y').map((c) => systemdEscapePath(c)),
    );
  }
  assert.equal(systemdEscapePath('/.dot'), '\\x2edot');
});

test('a long mountpoint gets a bounded unit name with a hash', () => {
  const long = `/mnt/${'x'.repeat(400)}`;
  const n = daemonUnitName(long);
  assert.ok(n.length <= 200, String(n.length));
  assert.match(n, /^enotconn-mount-mnt-x+-[0-9a-f]{16}$/);
  assert.notEqual(daemonUnitName(`${long}y`), n);
});

test('under systemd a remount is its own transient unit: exact systemd-run argv', () => {
  const ctx: LaunchContext = {
    systemd: true,
    cgroupRoot: '/sys/fs/cgroup',
    ownCgroup: '/system.slice/enotconn-watch.service',
    pid: 10,
  };
  const p = planLaunch(
    ctx,
    {
      kind: 'remount',
      mountpoint: '/mnt/remote data',
      argv: ['setpriv', '--reuid=1000', '--regid=1000', '--init-groups', '--', 'sshfs', 'a@h:/d', '/mnt/remote data'],
      env: { PATH: '/usr/bin:/bin', HOME: '/home/a' },
      cwd: '/',
      timeoutMs: 30_000,
      outputFile: '/var/lib/enotconn/logs/remount-1.log',
    },
    exists,
  );
  assert.deepEqual(p, {
    mode: 'systemd',
    unit: 'enotconn-mount-mnt-remote\\x20data.service',
    before: [['/usr/bin/systemctl', 'reset-failed', '--quiet', 'enotconn-mount-mnt-remote\\x20data.service']],
    argv: [
      '/usr/bin/systemd-run',
      '--unit=enotconn-mount-mnt-remote\\x20data',
      '--collect',
      '--quiet',
      '--service-type=forking',
      '--property=Restart=no',
      '--property=KillMode=control-group',
      '--property=TimeoutStartSec=30s',
      '--property=StandardOutput=append:/var/lib/enotconn/logs/remount-1.log',
      '--property=StandardError=append:/var/lib/enotconn/logs/remount-1.log',
      '--working-directory=/',
      '--setenv=PATH=/usr/bin:/bin',
      '--setenv=HOME=/home/a',
      '--',
      '/usr/bin/setpriv',
      '--reuid=1000',
      '--regid=1000',
      '--init-groups',
      '--',
      'sshfs',
      'a@h:/d',
      '/mnt/remote data',
    ],
  });
});

test('under systemd a supervised daemon runs in the foreground of its unit, as its owner via setpriv', () => {
  const ctx: LaunchContext = { systemd: true, cgroupRoot: '/sys/fs/cgroup', ownCgroup: '/', pid: 10 };
  const p = planLaunch(
    ctx,
    {
      kind: 'supervised',
      mountpoint: '/srv/m',
      argv: ['bindfs', '-f', '/src', '/srv/m'],
      env: { PATH: '/usr/bin' },
      cwd: '/',
      owner: { uid: 7, gid: 8, hasPasswdEntry: false },
    },
    exists,
  );
  assert.equal(p.mode, 'systemd');
  assert.deepEqual(p.argv, [
    '/usr/bin/systemd-run',
    '--unit=enotconn-mount-srv-m',
    '--collect',
    '--quiet',
    '--service-type=exec',
    '--property=Restart=no',
    '--property=KillMode=control-group',
    '--working-directory=/',
    '--setenv=PATH=/usr/bin',
    '--',
    '/usr/bin/setpriv',
    '--reuid=7',
    '--regid=8',
    '--clear-groups',
    '--',
    '/usr/bin/bindfs',
    '-f',
    '/src',
    '/srv/m',
  ]);
});

test("elsewhere: a sibling cgroup of watch's, entered for the fork and left again", () => {
  const ctx: LaunchContext = {
    systemd: false,
    cgroupRoot: '/sys/fs/cgroup/unified',
    ownCgroup: '/test/watch',
    pid: 4321,
  };
  const p = planLaunch(
    ctx,
    { kind: 'remount', mountpoint: '/mnt/x', argv: ['bindfs', '/s', '/mnt/x'], env: {}, cwd: '/' },
    exists,
  );
  assert.deepEqual(p, {
    mode: 'cgroup',
    cgroup: '/sys/fs/cgroup/unified/test/enotconn-mount-mnt-x',
    argv: ['/usr/bin/bindfs', '/s', '/mnt/x'],
    writes: [{ path: '/sys/fs/cgroup/unified/test/enotconn-mount-mnt-x/cgroup.procs', data: '4321' }],
    restore: { path: '/sys/fs/cgroup/unified/test/watch/cgroup.procs', data: '4321' },
  });
  // watch in the root cgroup: the daemon's cgroup is a child of the root.
  const root = planLaunch(
    { ...ctx, ownCgroup: '/' },
    { kind: 'remount', mountpoint: '/m', argv: ['x'], env: {}, cwd: '/' },
    exists,
  );
  assert.equal(root.mode === 'cgroup' && root.cgroup, '/sys/fs/cgroup/unified/enotconn-mount-m');
  // No cgroup v2: its own session only, and it says so.
  const none = planLaunch(
    { ...ctx, cgroupRoot: null },
    { kind: 'remount', mountpoint: '/m', argv: ['x'], env: {}, cwd: '/' },
    exists,
  );
  assert.equal(none.mode, 'session');
});

test('the cgroup2 mount is found in mountinfo, hybrid or unified', () => {
  const hybrid =
    '30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw\n41 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n';
  assert.equal(cgroup2Mount(hybrid), '/sys/fs/cgroup/unified');
  assert.equal(
    cgroup2Mount('29 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n'),
    '/sys/fs/cgroup',
  );
  assert.equal(cgroup2Mount('1 0 0:1 / / rw - ext4 /dev/sda rw\n'), null);
});
