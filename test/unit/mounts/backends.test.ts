import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendFor } from '../../../src/mounts/backends/index.js';
import { parseSshTarget } from '../../../src/mounts/backends/sshfs.js';
import { parseMountinfoLine, type MountInfo } from '../../../src/mounts/mountinfo/parse.js';

function mount(fstype: string, source: string, superOpts = 'rw'): MountInfo {
  return parseMountinfoLine(`40 27 0:40 / /mnt/x rw - ${fstype} ${source} ${superOpts}`)!;
}

test('sshfs endpoint: user, host, default port 22, and the -p port from the daemon argv', () => {
  const m = mount('fuse.sshfs', 'alice@files.example:/data');
  const b = backendFor(m)!;
  assert.equal(b.name, 'sshfs');
  assert.deepEqual(b.endpoint(m, { daemonArgv: null }), {
    kind: 'ssh',
    user: 'alice',
    host: 'files.example',
    port: 22,
    path: '/data',
    checkPorts: [22],
    display: 'alice@files.example:22',
  });
  const argv = ['sshfs', '-p', '2222', 'alice@files.example:/data', '/mnt/x'];
  assert.equal(b.endpoint(m, { daemonArgv: argv })?.port, 2222);
  assert.equal(b.endpoint(m, { daemonArgv: ['sshfs', 'h:/', '/mnt/x', '-o', 'reconnect,port=2200'] })?.port, 2200);
});

test('sshfs targets: IPv6 in brackets, no user, empty path', () => {
  assert.equal(parseSshTarget('[fd00::1]:/srv')?.host, 'fd00::1');
  assert.equal(parseSshTarget('host:')?.path, '');
  assert.equal(parseSshTarget('host:')?.user, undefined);
  assert.equal(parseSshTarget('/not/remote'), null);
});

test('a bare fuse mount is recognised from the daemon argv: bindfs, rclone, mountpoint-s3', () => {
  const bare = mount('fuse', '/srv/src', 'rw,user_id=0,group_id=0');
  assert.equal(backendFor(bare)?.name, 'fuse');
  assert.equal(backendFor(bare, { daemonArgv: ['bindfs', '-f', '/srv/src', '/mnt/x'] })?.name, 'bindfs');
  assert.equal(backendFor(bare, { daemonArgv: ['/usr/bin/rclone', 'mount', 'r:', '/mnt/x'] })?.name, 'rclone');
  const ms3 = mount('fuse', 'mountpoint-s3');
  const b = backendFor(ms3, {
    daemonArgv: ['mount-s3', 'my-bucket', '/mnt/x', '--endpoint-url', 'http://198.18.0.9:9000'],
  })!;
  assert.equal(b.name, 'mountpoint-s3');
  assert.equal(
    b.endpoint(ms3, { daemonArgv: ['mount-s3', 'my-bucket', '/mnt/x', '--endpoint-url', 'http://198.18.0.9:9000'] })
      ?.display,
    's3://my-bucket via 198.18.0.9:9000',
  );
});

test('s3fs: bucket from argv, endpoint from url=', () => {
  const m = mount('fuse.s3fs', 's3fs');
  const argv = ['s3fs', 'logs:/2026', '/mnt/x', '-o', 'url=https://minio.internal:9000,use_path_request_style'];
  const e = backendFor(m)!.endpoint(m, { daemonArgv: argv })!;
  assert.deepEqual([e.bucket, e.host, e.port], ['logs', 'minio.internal', 9000]);
  const d = backendFor(m)!.endpoint(m, { daemonArgv: ['s3fs', 'b', '/mnt/x'] })!;
  assert.deepEqual([d.host, d.port], ['s3.amazonaws.com', 443]);
});

test('gcsfuse, blobfuse2 and rclone remotes', () => {
  const g = mount('fuse.gcsfuse', 'my-bucket');
  assert.equal(backendFor(g)?.endpoint(g, { daemonArgv: null })?.display, 'gs://my-bucket');
  assert.equal(backendFor(mount('fuse', 'blobfuse2'))?.name, 'blobfuse2');
  const r = mount('fuse.rclone', 'gdrive:backup');
  assert.deepEqual(backendFor(r)?.endpoint(r, { daemonArgv: null }), {
    kind: 'rclone',
    host: 'gdrive',
    path: 'backup',
    checkPorts: [],
    display: 'gdrive:',
  });
});

test('NFS: server from addr=, v3 checks 2049 and the portmapper, v4 only 2049', () => {
  const v3 = mount('nfs', 'nas:/vol', 'rw,vers=3,addr=198.18.0.6');
  assert.deepEqual(backendFor(v3)?.endpoint(v3, { daemonArgv: null })?.checkPorts, [2049, 111]);
  assert.equal(backendFor(v3)?.endpoint(v3, { daemonArgv: null })?.host, '198.18.0.6');
  const v4 = mount('nfs4', 'nas:/', 'rw,vers=4.2,addr=198.18.0.5');
  assert.deepEqual(backendFor(v4)?.endpoint(v4, { daemonArgv: null })?.checkPorts, [2049]);
});

test('CIFS: share, port 445 and username', () => {
  const c = mount('cifs', '//srv/share/sub', 'rw,username=svc,addr=198.18.0.7');
  const e = backendFor(c)!.endpoint(c, { daemonArgv: null })!;
  assert.deepEqual([e.host, e.port, e.path, e.user], ['198.18.0.7', 445, '/share/sub', 'svc']);
});

test('local filesystems have no backend', () => {
  assert.equal(backendFor(mount('ext4', '/dev/vda')), null);
  assert.equal(backendFor(mount('tmpfs', 'tmpfs')), null);
});
