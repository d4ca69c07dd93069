// The container-root rule on the honest FakeHost: a process whose root directory is the mount (a
// container's rootfs, a chroot) stops heal before anything is run, and only such a process does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeHost } from '../../../src/host/fake-host.js';
import { containerRootRefusal } from '../../../src/mounts/heal/safety.js';
import type { MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import { fakeHostInTempDir } from '../../helpers/fake-host.js';

function fake(): { host: FakeHost; mount: MountInfo } {
  const { host } = fakeHostInTempDir('enc-safety-fake-');
  const mount = host.addMount({
    id: 80,
    mountpoint: '/var/lib/c1/rootfs',
    fstype: 'fuse.sshfs',
    source: 'h:/srv',
    major: 0,
    minor: 70,
    options: ['rw'],
    superOptions: ['rw', 'user_id=0', 'group_id=0'],
  });
  for (let pid = 100; pid < 140; pid++) host.addProcess({ pid, argv: ['sleep', '1'], uid: 0, gid: 0 });
  host.addProcess({ pid: 150, argv: ['sh'], uid: 0, gid: 0, root: '/var/lib/c1/rootfs/sub' });
  return { host, mount };
}

test('container-root: a process rooted at the mountpoint is named; one rooted below it or elsewhere is not', async () => {
  const { host, mount } = fake();
  assert.equal(await containerRootRefusal(host, mount), null);
  host.addProcess({ pid: 4321, argv: ['init'], uid: 0, gid: 0, root: '/var/lib/c1/rootfs' });
  const r = await containerRootRefusal(host, mount);
  assert.equal(r?.rule, 'container-root');
  assert.equal(
    r?.message,
    'refusing to heal /var/lib/c1/rootfs: it is the root filesystem of a container or chroot (pid 4321 runs with it as /)',
  );
  assert.deepEqual(host.actions, []);
});
