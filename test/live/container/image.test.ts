// enotconn from its own image, run the way deploy/kubernetes/daemonset.yaml runs it (privileged,
// hostPID, host network, the mount root bind-mounted at the same path with rshared propagation,
// which is what Bidirectional means to the runtime), heals a host bindfs mount whose daemon was
// killed with SIGKILL: the host reads the file again from its own mount namespace, and the new
// daemon is a process of the host's PID namespace.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import Database from 'better-sqlite3';
import { REPO, freePort, killHard, liveBindfs, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { ensureImage } from '../../helpers/image-build.js';
import { ensureTestImage } from '../../helpers/container-images.js';
import { SEA } from '../../helpers/run-argv.js';
import { httpGet, mountCount } from '../watch/watch-harness.js';

const PODMAN = ['/usr/bin/podman', '--runtime', 'runc'];
let image = '';
let sibling = '';

before(() => {
  // Without podman and runc the tests skip (requireBinary); there is nothing to build with.
  if (fs.existsSync(PODMAN[0]!) && fs.existsSync('/usr/sbin/runc')) {
    image = ensureImage();
    if (fs.existsSync('/bin/busybox')) sibling = ensureTestImage('plain');
  }
});

function podman(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PODMAN[0]!, [...PODMAN.slice(1), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function nsOf(pid: number | 'self', ns: 'mnt' | 'pid'): string {
  return fs.readlinkSync(`/proc/${pid}/ns/${ns}`);
}

// Pids of the bindfs processes (any argv form) serving `mountpoint`, from the host's /proc.
function bindfsServing(mountpoint: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') === 'bindfs' && argv.includes(mountpoint)) out.push(Number(e));
    } catch {
      // exited
    }
  }
  return out;
}

// True when the state database in `stateDir` holds a recipe for `mountpoint`.
function recipeFor(stateDir: string, mountpoint: string): boolean {
  const file = path.join(stateDir, 'enotconn.db');
  if (!fs.existsSync(file)) return false;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT 1 FROM recipes WHERE mountpoint = ?').all(mountpoint).length === 1;
  } catch {
    return false; // the table is created on first use
  } finally {
    db.close();
  }
}

function readsBack(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

test("the image carries heal's tools and the executable, and a second build is a cache hit", async (t) => {
  if (!requireBinary(t, 'podman', 'runc')) return;
  const id = podman('image', 'inspect', '--format', '{{.Id}}', image).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  // Built again with the same inputs: the same image, not rebuilt.
  assert.equal(ensureImage(), image);
  assert.equal(podman('image', 'inspect', '--format', '{{.Id}}', image).stdout.trim(), id);
  const cfg = JSON.parse(podman('image', 'inspect', '--format', '{{json .Config}}', image).stdout) as {
    Entrypoint: string[];
    Cmd: string[];
    Labels: Record<string, string>;
  };
  assert.deepEqual(cfg.Entrypoint, ['/usr/bin/enotconn']);
  assert.deepEqual(cfg.Cmd, ['watch', '--config', '/etc/enotconn/config.yaml']);
  assert.match(cfg.Labels['io.enotconn.inputs-sha256'] ?? '', /^[0-9a-f]{64}$/);
  const tools = [
    '/usr/bin/enotconn',
    '/usr/bin/fusermount3',
    '/usr/bin/mount',
    '/usr/bin/umount',
    '/usr/bin/findmnt',
    '/usr/bin/bindfs',
    '/usr/bin/sshfs',
    '/usr/bin/rclone',
    '/usr/bin/s3fs',
    '/usr/bin/ssh',
  ];
  const r = podman(
    'run',
    '--rm',
    '--network=none',
    '--ulimit',
    'nofile=4096:4096',
    '--ulimit',
    'nproc=4096:4096',
    '--entrypoint',
    '/usr/bin/sh',
    image,
    '-c',
    'for f in "$@"; do test -x "$f" && echo "$f"; done; /usr/bin/enotconn --version',
    'sh',
    ...tools,
  );
  assert.equal(r.code, 0, r.stderr);
  const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(r.stdout, [...tools, version, ''].join('\n'));
  // The executable in the image is dist/enotconn, byte for byte.
  const sum = podman(
    'run',
    '--rm',
    '--network=none',
    '--ulimit',
    'nofile=4096:4096',
    '--ulimit',
    'nproc=4096:4096',
    '--entrypoint',
    '/usr/bin/sha256sum',
    image,
    '/usr/bin/enotconn',
  );
  assert.equal(sum.stdout.split(' ')[0], crypto.createHash('sha256').update(fs.readFileSync(SEA)).digest('hex'));
});

test('the image, run as the DaemonSet runs it, heals a host bindfs mount after kill -9 and re-grafts a sibling container in place', async (t) => {
  if (!requireBinary(t, 'podman', 'runc', 'bindfs')) return;
  const dir = tempDir(t, 'enc-image-');
  // The host side of a Bidirectional hostPath must be a shared mount (kubelet makes
  // /var/lib/kubelet rshared); here the temp dir is made a shared bind mount of itself.
  assert.equal(spawnSync('/usr/bin/mount', ['--bind', dir, dir]).status, 0);
  t.after(() => spawnSync('/usr/bin/umount', ['-l', '--no-canonicalize', dir], { timeout: 5000 }));
  assert.equal(spawnSync('/usr/bin/mount', ['--make-shared', dir]).status, 0);
  for (const d of ['src', 'state', 'run']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'src', 'f'), 'from the host\n');
  const m = await liveBindfs(t, path.join(dir, 'src'), path.join(dir, 'mnt'));
  const file = path.join(m.mountpoint, 'f');
  assert.equal(readsBack(file), 'from the host\n');

  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'watch.yaml'),
    [
      'interval: 1s',
      'probeTimeout: 2s',
      `listen: 127.0.0.1:${port}`,
      'observe:',
      `  include: ["${dir}/**"]`,
      'heal:',
      '  policy: "on"',
      '  failuresBeforeIncident: 1',
      '  propagate: true',
      '',
    ].join('\n'),
  );
  const name = `enc-image-${process.pid}-${port}`;
  t.after(() => podman('rm', '-f', '-t', '0', name));
  const run = podman(
    'run',
    '-d',
    '--name',
    name,
    '--privileged',
    '--pid=host',
    '--network=host',
    // podman's default limits exceed this machine's hard limits (runc: setrlimit EPERM).
    '--ulimit',
    'nofile=4096:4096',
    '--ulimit',
    'nproc=4096:4096',
    '-v',
    `${dir}:${dir}:rshared`,
    '-v',
    '/dev/fuse:/dev/fuse',
    '-v',
    '/sys/fs/fuse/connections:/sys/fs/fuse/connections',
    '-e',
    `ENOTCONN_STATE_DIR=${dir}/state`,
    '-e',
    `ENOTCONN_RUN_DIR=${dir}/run`,
    image,
    'watch',
    '--config',
    path.join(dir, 'watch.yaml'),
  );
  assert.equal(run.code, 0, run.stderr);
  const logs = (): string => {
    const r = podman('logs', name);
    return r.stdout + r.stderr;
  };
  const containerPid = Number(podman('inspect', '--format', '{{.State.Pid}}', name).stdout.trim());
  assert.ok(containerPid > 0);
  // The entrypoint is the image's own executable, in the container's mount namespace.
  assert.equal(fs.readlinkSync(`/proc/${containerPid}/exe`), '/usr/bin/enotconn');
  assert.notEqual(nsOf(containerPid, 'mnt'), nsOf('self', 'mnt'));
  assert.equal(nsOf(containerPid, 'pid'), nsOf('self', 'pid'));

  const api = async (): Promise<
    Array<{ mountpoint: string; state: string; heals: number; lastHealResult: string }>
  > => {
    try {
      const r = await httpGet(port, '/api/mounts', 5000);
      return (
        JSON.parse(r.body) as {
          mounts: Array<{ mountpoint: string; state: string; heals: number; lastHealResult: string }>;
        }
      ).mounts;
    } catch {
      return [];
    }
  };
  await waitFor(
    async () => (await api()).some((x) => x.mountpoint === m.mountpoint && x.state === 'healthy'),
    60_000,
    'watch in the container to see the host mount healthy',
  ).catch((e: Error) => {
    throw new Error(`${e.message}; logs: ${logs().slice(-2000)}`);
  });
  // watch records the daemon's recipe (its argv, read from the host's /proc) while it is healthy.
  await waitFor(() => recipeFor(path.join(dir, 'state'), m.mountpoint), 30_000, 'the recipe to be recorded');

  // A sibling container with the mount as a private volume (podman's default, rprivate): the
  // heal's propagation does not reach it; watch in the image re-grafts it in place.
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  const sib = `${name}-sibling`;
  t.after(() => podman('rm', '-f', '-t', '0', sib));
  const bb = '/bin/busybox';
  const sr = podman(
    'run',
    '-d',
    '--name',
    sib,
    '--network=none',
    '--ulimit',
    'nofile=4096:4096',
    '--ulimit',
    'nproc=4096:4096',
    '-v',
    `${m.mountpoint}:/data`,
    '-v',
    `${out}:/out`,
    sibling,
    bb,
    'sh',
    '-c',
    `while true; do if c=$(${bb} cat /data/f 2>&1); then echo "OK:$c" > /out/t; else echo "ERR:$c" > /out/t; fi; ${bb} mv /out/t /out/last; ${bb} sleep 0.1; done`,
  );
  assert.equal(sr.code, 0, sr.stderr);
  const sibPid = Number(podman('inspect', '--format', '{{.State.Pid}}', sib).stdout.trim());
  const sibReads = (): string => {
    try {
      return fs.readFileSync(path.join(out, 'last'), 'utf8').trim();
    } catch {
      return '';
    }
  };
  await waitFor(() => sibReads() === 'OK:from the host', 10_000, 'the sibling container to read');

  killHard(m.daemonPid);
  await waitFor(() => /Transport endpoint is not connected/.test(sibReads()), 10_000, 'the sibling to read ENOTCONN');
  await waitFor(
    async () => {
      const x = (await api()).find((y) => y.mountpoint === m.mountpoint);
      return x !== undefined && x.heals >= 1 && x.state === 'healthy';
    },
    60_000,
    'watch in the container to heal the mount',
  ).catch((e: Error) => {
    throw new Error(`${e.message}; logs: ${logs().slice(-3000)}`);
  });

  // The sibling container's own loop reads again, in the same container process.
  await waitFor(() => sibReads() === 'OK:from the host', 20_000, 'the sibling container to read again').catch(
    (e: Error) => {
      throw new Error(`${e.message}; logs: ${logs().slice(-3000)}`);
    },
  );
  assert.equal(Number(podman('inspect', '--format', '{{.State.Pid}}', sib).stdout.trim()), sibPid);
  // The host, in its own mount namespace, reads the file through the healed mount, and exactly
  // one mount is at the mountpoint (the stale one was detached, the fresh one propagated back).
  assert.equal(readsBack(file), 'from the host\n');
  assert.equal(mountCount(m.mountpoint), 1);
  const x = (await api()).find((y) => y.mountpoint === m.mountpoint)!;
  assert.equal(x.lastHealResult, 'healed');
  assert.equal(x.heals, 1);

  const daemons = bindfsServing(m.mountpoint).filter((p) => p !== m.daemonPid);
  assert.equal(daemons.length, 1, `one new bindfs: ${JSON.stringify(daemons)}`);
  const daemon = daemons[0]!;
  t.after(() => killHard(daemon));
  // The new daemon is a process of the host's PID namespace (hostPID), started from the image's
  // bindfs in the pod's mount namespace, whose mounts propagate to the host.
  assert.equal(nsOf(daemon, 'pid'), nsOf('self', 'pid'));
  assert.equal(nsOf(daemon, 'mnt'), nsOf(containerPid, 'mnt'));
  // It runs the image's bindfs, not a file of the host's: the same inode as the container root's
  // /usr/bin/bindfs, reached through /proc/<pid>/root.
  const exe = fs.statSync(`/proc/${daemon}/exe`);
  const inImage = fs.statSync(`/proc/${containerPid}/root/usr/bin/bindfs`);
  assert.deepEqual([exe.dev, exe.ino], [inImage.dev, inImage.ino]);
  if (fs.existsSync('/usr/bin/bindfs')) {
    const onHost = fs.statSync('/usr/bin/bindfs');
    assert.notDeepEqual([exe.dev, exe.ino], [onHost.dev, onHost.ino]);
  }
  // The recorded argv, with the old mount's nosuid,nodev kept (a remount never weakens them).
  assert.deepEqual(fs.readFileSync(`/proc/${daemon}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(-4), [
    path.join(dir, 'src'),
    m.mountpoint,
    '-o',
    'nosuid,nodev',
  ]);
  assert.match(logs(), /"msg":"heal healed"/);
});
