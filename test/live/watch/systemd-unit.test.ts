// Live: the shipped unit under a real systemd (PID 1 of a podman container booted from a Debian
// bookworm rootfs). watch runs as enotconn-watch.service with this checkout's build; it starts a
// managed bindfs mount as its own transient unit (systemd-run), in the same mount namespace as
// PID 1; kill -9, `systemctl restart` and `systemctl stop` of watch leave the daemon (same pid) and
// the mount readable from outside watch. `systemd-analyze security` rates the unit there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { daemonUnitName } from '../../../src/host/daemon-launch.js';
import { REPO, requireBinary, waitFor } from '../../helpers/live.js';

const IMAGE = 'localhost/enotconn-debian-base:bookworm';
const PODMAN = ['/usr/bin/podman', '--runtime', 'runc'];
const UNIT = path.join(REPO, 'deploy/systemd/enotconn-watch.service');

function podman(args: string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PODMAN[0]!, [...PODMAN.slice(1), ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

// The cached image, built once by the project's script when it is there; null when neither.
function baseImage(): string | null {
  if (podman(['image', 'exists', IMAGE]).status === 0) return IMAGE;
  const script = path.join(REPO, 'scripts/debian-base-image.sh');
  if (!fs.existsSync(script)) return null;
  const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 600_000 });
  return r.status === 0 ? IMAGE : null;
}

// Host files the container borrows: node (self-contained), bindfs and its libfuse, fusermount3.
const BORROWED = ['/usr/bin/node', '/usr/bin/bindfs', '/usr/bin/fusermount3', '/lib/x86_64-linux-gnu/libfuse.so.2'];

interface Box {
  name: string;
  sh(script: string, timeout?: number): { status: number | null; stdout: string; stderr: string };
}

async function bootContainer(t: TestContext, image: string): Promise<Box> {
  const name = `enc-watchsvc-sd-${process.pid}`;
  podman(['rm', '-f', name]);
  const vols = BORROWED.flatMap((f) => ['-v', `${fs.realpathSync(f)}:${f}:ro`]);
  const r = podman([
    'run',
    '-d',
    '--rm',
    '--name',
    name,
    '--systemd=always',
    // runc cannot raise RLIMIT_NOFILE/NPROC beyond this machine's hard limits (MACHINE-NOTES).
    '--ulimit',
    'nofile=4096:4096',
    '--ulimit',
    'nproc=4096:4096',
    // /dev/fuse and CAP_SYS_ADMIN for the FUSE mount inside; the unit's own limits still apply to watch.
    '--privileged',
    '--network',
    'none',
    '-v',
    `${REPO}:/opt/enotconn:ro`,
    '-v',
    `${UNIT}:/etc/systemd/system/enotconn-watch.service:ro`,
    ...vols,
    image,
    '/sbin/init',
  ]);
  assert.equal(r.status, 0, r.stderr);
  t.after(() => podman(['rm', '-f', '-t', '0', name]));
  const box: Box = {
    name,
    sh: (script, timeout = 60_000) => podman(['exec', name, '/bin/sh', '-c', script], timeout),
  };
  await waitFor(
    () => /^(running|degraded)/.test(box.sh('systemctl is-system-running').stdout),
    60_000,
    'systemd in the container to finish booting',
  );
  return box;
}

function api(box: Box): { mounts: Array<{ mountpoint: string; state: string; daemonPid: number | null }> } | null {
  const r = box.sh(
    `node -e "fetch('http://127.0.0.1:9717/api/mounts').then(r=>r.text()).then(t=>process.stdout.write(t)).catch(()=>process.exit(1))"`,
  );
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout) as ReturnType<typeof api>;
  } catch {
    return null;
  }
}

test('the shipped unit under systemd: daemons are transient units that survive kill -9, restart and stop of watch; exposure ≤ 6.0', async (t) => {
  if (!requireBinary(t, 'podman', 'bindfs')) return;
  const image = baseImage();
  if (!image) {
    t.skip(`no ${IMAGE} and no scripts/debian-base-image.sh to build it`);
    return;
  }
  const box = await bootContainer(t, image);
  const mp = '/srv/mnt';
  const setup = box.sh(
    [
      'printf \'#!/bin/sh\\nexec /usr/bin/node /opt/enotconn/dist/src/cli/main.js "$@"\\n\' > /usr/bin/enotconn',
      'chmod 755 /usr/bin/enotconn',
      'mkdir -p /etc/enotconn /srv/src /srv/mnt',
      'echo survived > /srv/src/data.txt',
      `printf 'interval: 1s\\nmanaged:\\n  - name: srv\\n    argv: [bindfs, -f, /srv/src, ${mp}]\\n    mountpoint: ${mp}\\n    onStop: leave-mounted\\n' > /etc/enotconn/config.yaml`,
      'enotconn watch --check-config /etc/enotconn/config.yaml',
      'systemctl daemon-reload',
      'systemctl start enotconn-watch',
    ].join(' && '),
  );
  assert.equal(setup.status, 0, `${setup.stdout}${setup.stderr}`);

  // The exposure score, as an operator measures it on the host.
  const sec = box.sh('systemd-analyze security --no-pager enotconn-watch.service');
  const score = Number(/Overall exposure level for enotconn-watch\.service: ([\d.]+)/.exec(sec.stdout)?.[1]);
  console.log(`# systemd-analyze security enotconn-watch.service (systemd in ${image}): ${score}`);
  assert.ok(score <= 6.0, `exposure ${score} > 6.0:\n${sec.stdout}`);

  const daemonUnit = `${daemonUnitName(mp)}.service`;
  await waitFor(
    () => api(box)?.mounts.find((m) => m.mountpoint === mp)?.state === 'healthy',
    60_000,
    'the managed mount',
  );
  const pid = api(box)!.mounts.find((m) => m.mountpoint === mp)!.daemonPid!;
  assert.equal(box.sh(`systemctl show --property=MainPID --value ${daemonUnit}`).stdout.trim(), String(pid));
  const watchPid = () => box.sh('systemctl show --property=MainPID --value enotconn-watch.service').stdout.trim();
  // watch shares PID 1's mount namespace, so its mounts are the host's.
  assert.equal(
    box.sh(`readlink /proc/${watchPid()}/ns/mnt`).stdout.trim(),
    box.sh('readlink /proc/1/ns/mnt').stdout.trim(),
    'watch has no private mount namespace',
  );
  const readBack = (): string => box.sh(`cat ${mp}/data.txt`).stdout;
  assert.equal(readBack(), 'survived\n');

  // kill -9: systemd restarts watch, which adopts the daemon.
  const first = watchPid();
  assert.equal(box.sh(`kill -9 ${first}`).status, 0);
  await waitFor(() => !['', '0', first].includes(watchPid()), 30_000, 'systemd to restart watch');
  assert.equal(readBack(), 'survived\n');
  await waitFor(
    () => api(box)?.mounts.find((m) => m.mountpoint === mp)?.daemonPid === pid,
    60_000,
    'adoption after kill -9',
  );

  assert.equal(box.sh('systemctl restart enotconn-watch').status, 0);
  await waitFor(
    () => api(box)?.mounts.find((m) => m.mountpoint === mp)?.daemonPid === pid,
    60_000,
    'adoption after restart',
  );
  assert.equal(box.sh('systemctl stop enotconn-watch').status, 0);
  assert.equal(box.sh(`systemctl is-active ${daemonUnit}`).stdout.trim(), 'active');
  assert.equal(box.sh(`systemctl show --property=MainPID --value ${daemonUnit}`).stdout.trim(), String(pid));
  assert.equal(readBack(), 'survived\n');
});
