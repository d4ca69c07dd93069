// deploy/systemd/enotconn-watch.service (the .deb's unit, byte for byte) names every hardening
// option once, with its reason: set, with a comment on the line above, or dropped, as a
// "# Option=: reason" line; and it sets none of the options that give a mount namespace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO } from '../../helpers/live.js';

const UNIT = fs.readFileSync(path.join(REPO, 'deploy/systemd/enotconn-watch.service'), 'utf8');

// The settings `systemd-analyze security` (systemd 252) scores, by option name.
const SCORED = [
  'AmbientCapabilities',
  'CapabilityBoundingSet',
  'Delegate',
  'DeviceAllow',
  'DynamicUser',
  'IPAddressDeny',
  'KeyringMode',
  'LockPersonality',
  'MemoryDenyWriteExecute',
  'NoNewPrivileges',
  'NotifyAccess',
  'PrivateDevices',
  'PrivateMounts',
  'PrivateNetwork',
  'PrivateTmp',
  'PrivateUsers',
  'ProcSubset',
  'ProtectClock',
  'ProtectControlGroups',
  'ProtectHome',
  'ProtectHostname',
  'ProtectKernelLogs',
  'ProtectKernelModules',
  'ProtectKernelTunables',
  'ProtectProc',
  'ProtectSystem',
  'RemoveIPC',
  'RestrictAddressFamilies',
  'RestrictNamespaces',
  'RestrictRealtime',
  'RestrictSUIDSGID',
  'RootDirectory',
  'RootImage',
  'SupplementaryGroups',
  'SystemCallArchitectures',
  'SystemCallFilter',
  'UMask',
  'User',
];
// Not scored, but each gives the unit a mount namespace (systemd.exec(5)), or needs one to act.
const NAMESPACE_ONLY = [
  'BindPaths',
  'BindReadOnlyPaths',
  'InaccessiblePaths',
  'MountAPIVFS',
  'PrivateIPC',
  'ReadOnlyPaths',
  'ReadWritePaths',
  'TemporaryFileSystem',
];
// Options giving a mount namespace, as measured on systemd 252 by test/live/watch/systemd-unit.test.ts.
const GIVE_A_MOUNT_NAMESPACE = [
  'BindPaths',
  'BindReadOnlyPaths',
  'DynamicUser',
  'InaccessiblePaths',
  'PrivateDevices',
  'PrivateIPC',
  'PrivateMounts',
  'PrivateTmp',
  'ProcSubset',
  'ProtectControlGroups',
  'ProtectHome',
  'ProtectKernelLogs',
  'ProtectKernelModules',
  'ProtectKernelTunables',
  'ProtectProc',
  'ProtectSystem',
  'ReadOnlyPaths',
  'ReadWritePaths',
  'TemporaryFileSystem',
];

const lines = UNIT.split('\n');
const service = lines.slice(lines.indexOf('[Service]') + 1, lines.indexOf('[Install]'));

test('every scored hardening option is set with a reason above it, or dropped with a one-line reason', () => {
  for (const name of [...SCORED, ...NAMESPACE_ONLY]) {
    const set = service.flatMap((l, i) => (l.startsWith(`${name}=`) ? [i] : []));
    const dropped = service.filter((l) => l.startsWith(`# ${name}=: `));
    assert.equal(set.length + dropped.length, 1, `${name}: set ${set.length} times, dropped ${dropped.length} times`);
    if (set.length === 1) {
      assert.match(service[set[0]! - 1]!, /^# \S/, `${name}= has no reason on the line above it`);
    } else {
      assert.ok(dropped[0]!.length > `# ${name}=: `.length + 10, `${name}: the reason is missing`);
    }
  }
});

test('the unit sets no option that gives it a mount namespace, and says so for each', () => {
  const set = service.filter((l) => /^[A-Z]\w*=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
  assert.deepEqual(
    set.filter((o) => GIVE_A_MOUNT_NAMESPACE.includes(o)),
    [],
  );
  const claimed = service.flatMap((l) => /^# (\w+)=: a mount namespace of its own/.exec(l)?.[1] ?? []);
  assert.deepEqual(claimed.sort(), GIVE_A_MOUNT_NAMESPACE);
  // Its daemons are not in its cgroup, and a restart of it kills only what is.
  assert.ok(service.includes('KillMode=control-group'));
});
