// Live: enotconn's .deb on a Debian bookworm host booted with systemd (a podman container, runc, its
// / made rshared as on a booted host), used as an operator would. The package installs the unit
// (the deploy unit, byte for byte) disabled; `systemd-analyze security` rates it ≤ 6.0 there; each
// option the unit drops for giving a mount namespace gives one on that systemd, and the options it
// keeps give none. watch, enabled with heal on, heals a bindfs mounted by hand and killed with
// kill -9: the new daemon is a transient unit named after the mountpoint, the mount reads back from
// a process that is not watch (podman exec, in PID 1's mount namespace), and the daemon keeps its
// pid through `systemctl restart` and `systemctl stop` of watch. A managed daemon does the same
// through kill -9, restart and stop of watch. One booted container serves every test of this file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { daemonUnitName } from '../../../src/host/daemon-launch.js';
import { REPO, requireBinary, waitFor } from '../../helpers/live.js';
import { ensureDeb } from '../../helpers/ship-build.js';
import { bootSystemd, ensureSystemdImage, type SystemdBox } from '../../helpers/systemd-container.js';

const UNIT_TEXT = fs.readFileSync(path.join(REPO, 'deploy/systemd/enotconn-watch.service'), 'utf8');
const DEB = '/root/enotconn.deb';
const WATCH = 'enotconn-watch.service';

let booted: Promise<SystemdBox> | null = null;
after(async () => (await booted?.catch(() => null))?.remove());

// The booted host with the .deb installed, made once for the whole file; null when the test skipped.
async function debianHost(t: TestContext): Promise<SystemdBox | null> {
  if (!requireBinary(t, 'podman', 'runc', 'debootstrap')) return null;
  booted ??= (async () => {
    const deb = ensureDeb();
    const box = await bootSystemd(`enc-systemd-${process.pid}`, ensureSystemdImage(), [`${deb}:${DEB}:ro`]);
    const r = box.sh(
      `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${DEB} > /tmp/install.log 2>&1 || { cat /tmp/install.log; exit 1; }`,
      300_000,
    );
    if (r.status !== 0) throw new Error(`apt-get install of the .deb failed:\n${r.stdout}${r.stderr}`);
    return box;
  })();
  return booted;
}

// The script's stdout; it must succeed.
function must(box: SystemdBox, script: string): string {
  const r = box.sh(script);
  assert.equal(r.status, 0, `${script}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

// GET from watch's API inside the container, or null while it does not answer.
function api<T>(box: SystemdBox, urlPath: string): T | null {
  const r = box.sh(`curl -sf --max-time 5 'http://127.0.0.1:9717${urlPath}'`);
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    return null;
  }
}

type MountJson = { mountpoint: string; state: string; daemonPid: number | null };
function mountState(box: SystemdBox, mp: string): MountJson | undefined {
  return api<{ mounts: MountJson[] }>(box, '/api/mounts')?.mounts.find((m) => m.mountpoint === mp);
}

// watch's JSON log lines in the journal.
function journal(box: SystemdBox): Array<Record<string, unknown>> {
  return must(box, `journalctl -u ${WATCH} -o cat --no-pager`)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const mainPid = (box: SystemdBox, unit: string): string =>
  must(box, `systemctl show --property=MainPID --value ${unit}`).trim();
const bindfsPids = (box: SystemdBox): string[] => box.sh('pgrep -x bindfs').stdout.split('\n').filter(Boolean);
// The one bindfs daemon in the container.
function onlyBindfs(box: SystemdBox): string {
  const pids = bindfsPids(box);
  assert.equal(pids.length, 1, `bindfs daemons: ${pids.join(' ')}`);
  return pids[0]!;
}
const mountNs = (box: SystemdBox, pid: string): string => must(box, `readlink /proc/${pid}/ns/mnt`).trim();
// The cgroup v2 path of a process (the "0::" line of /proc/PID/cgroup).
const cgroupOf = (box: SystemdBox, pid: string): string => must(box, `sed -n 's/^0:://p' /proc/${pid}/cgroup`).trim();

// An example value for each option the unit drops because it gives a mount namespace.
const NAMESPACE_OPTIONS: Record<string, string> = {
  ProtectSystem: 'full',
  ProtectHome: 'yes',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  PrivateMounts: 'yes',
  PrivateIPC: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectKernelLogs: 'yes',
  ProtectControlGroups: 'yes',
  ProtectProc: 'invisible',
  ProcSubset: 'pid',
  ReadOnlyPaths: '/usr',
  ReadWritePaths: '/srv',
  InaccessiblePaths: '/srv',
  TemporaryFileSystem: '/mnt',
  BindPaths: '/srv:/mnt',
  BindReadOnlyPaths: '/srv:/mnt',
  DynamicUser: 'yes',
};

// The mount namespace of a transient unit run with these properties. Why Type=exec: systemd-run
// returns once the process has exec'd (systemd.service(5)), so its namespaces are set up by then.
// Why not --wait --pipe: those need D-Bus, which a minimal Debian host (and this one) lacks.
let probes = 0;
function unitMountNs(box: SystemdBox, props: string[]): string {
  const unit = `enc-nsprobe-${++probes}.service`;
  const args = props.map((p) => `-p '${p}'`).join(' ');
  return must(
    box,
    `systemd-run --quiet --collect --unit=${unit} --service-type=exec ${args} /bin/sleep infinity && ` +
      `readlink /proc/$(systemctl show --property=MainPID --value ${unit})/ns/mnt && systemctl stop ${unit}`,
  ).trim();
}

test('the .deb on a systemd host: the deploy unit, disabled; exposure ≤ 6.0; no kept option gives a mount namespace, each dropped one does', async (t) => {
  const box = await debianHost(t);
  if (!box) return;
  assert.equal(must(box, `cat /lib/systemd/system/${WATCH}`), UNIT_TEXT);
  assert.equal(box.sh(`systemctl is-enabled ${WATCH}`).stdout, 'disabled\n');
  assert.equal(box.sh(`systemctl is-active ${WATCH}`).stdout, 'inactive\n');
  const verify = box.sh(`systemd-analyze verify ${WATCH}`);
  assert.deepEqual([verify.status, verify.stderr], [0, ''], verify.stdout);

  const systemd = must(box, 'systemctl --version').split('\n')[0];
  const sec = must(box, `systemd-analyze security --no-pager ${WATCH}`);
  const score = Number(/Overall exposure level for enotconn-watch\.service: (\d+\.\d+) /.exec(sec)?.[1]);
  t.diagnostic(`systemd-analyze security ${WATCH} (${systemd}): ${score}`);
  assert.ok(score <= 6.0, `exposure ${score} > 6.0:\n${sec}`);

  const host = mountNs(box, '1');
  const service = UNIT_TEXT.slice(UNIT_TEXT.indexOf('# --- Kept'), UNIT_TEXT.indexOf('# --- Dropped'));
  const kept = service.split('\n').filter((l) => /^[A-Z]\w+=/.test(l));
  assert.ok(
    ['SystemCallFilter=', 'ProtectClock=', 'UMask='].every((o) => kept.some((l) => l.startsWith(o))),
    service,
  );
  assert.equal(unitMountNs(box, kept), host, `the kept options give a mount namespace:\n${kept.join('\n')}`);
  const dropped = [...UNIT_TEXT.matchAll(/^# (\w+)=: a mount namespace of its own/gm)].map((m) => m[1]!);
  assert.deepEqual(dropped.sort(), Object.keys(NAMESPACE_OPTIONS).sort());
  const shared = dropped.filter((o) => unitMountNs(box, [`${o}=${NAMESPACE_OPTIONS[o]}`]) === host);
  assert.deepEqual(shared, [], 'these dropped options give no mount namespace after all');
});

test('watch heals a kill -9ed bindfs it observes: the mount reads back outside watch, and its daemon (a unit of its own) keeps its pid through restart and stop of watch', async (t) => {
  const box = await debianHost(t);
  if (!box) return;
  const src = '/srv/obs/src';
  const mp = '/srv/obs/mnt';
  const content = 'written on the host before the kill\n';
  const readBack = (): string => box.sh(`cat ${mp}/data.txt`).stdout;
  // A mount made by hand, as a user would: not one of watch's managed mounts.
  must(
    box,
    `mkdir -p ${src} ${mp} && printf '${content.replace('\n', '\\n')}' > ${src}/data.txt && bindfs ${src} ${mp}`,
  );
  assert.equal(readBack(), content);
  const handPid = onlyBindfs(box);
  must(
    box,
    [
      'mkdir -p /etc/enotconn',
      `printf 'interval: 1s\\nobserve:\\n  include: ["/srv/obs/**"]\\nheal:\\n  policy: on\\n  failuresBeforeIncident: 2\\n  backoff: { initial: 500ms }\\nlog:\\n  level: debug\\n' > /etc/enotconn/config.yaml`,
      'enotconn watch --check-config /etc/enotconn/config.yaml',
      `systemctl enable --now ${WATCH}`,
    ].join(' && '),
  );
  assert.equal(box.sh(`systemctl is-enabled ${WATCH}`).stdout, 'enabled\n');
  // The recipe is recorded while the mount is healthy: it is what the heal remounts from.
  await waitFor(() => journal(box).some((l) => l.msg === 'recipes recorded'), 60_000, 'the recipe to be recorded');

  must(box, `kill -9 ${handPid}`);
  const daemonUnit = `${daemonUnitName(mp)}.service`;
  const healed = (): Array<Record<string, unknown>> => journal(box).filter((l) => l.msg === 'heal healed');
  await waitFor(() => healed().length > 0, 60_000, 'watch to log the heal');
  // watch validated the mount before logging it healed: a process that is not watch must read it now.
  const outside = box.sh(`cat ${mp}/data.txt`);
  assert.deepEqual([outside.status, outside.stdout, outside.stderr], [0, content, ''], 'read back from outside watch');
  assert.equal(box.sh(`systemctl is-active ${daemonUnit}`).stdout, 'active\n');
  const healedPid = onlyBindfs(box);
  assert.notEqual(healedPid, handPid);
  assert.equal(mainPid(box, daemonUnit), healedPid);
  const incidents = api<{ incidents: Array<Record<string, unknown>> }>(
    box,
    `/api/incidents?mountpoint=${encodeURIComponent(mp)}`,
  )?.incidents;
  assert.deepEqual(
    incidents?.map((i) => [i.state, i.errno, i.cause, i.resolution]),
    [['dead', 'ENOTCONN', 'daemon-gone', 'healed']],
  );
  assert.deepEqual(
    healed().map((l) => [l.mountpoint, l.action]),
    [[mp, 'remount']],
  );

  // Outside watch: the shell podman exec runs, PID 1, watch and the daemon share one mount
  // namespace, PID 1's mount table holds the healed mount, and the daemon is not in watch's cgroup.
  const watchPid = mainPid(box, WATCH);
  const host = mountNs(box, '1');
  assert.deepEqual(
    [mountNs(box, 'self'), mountNs(box, watchPid), mountNs(box, healedPid)],
    [host, host, host],
    "watch has no mount namespace of its own: its heal is the host's",
  );
  assert.match(must(box, `awk '$5 == "${mp}"' /proc/1/mountinfo`), / - fuse(\.bindfs)? \/srv\/obs\/src /);
  assert.match(cgroupOf(box, watchPid), /\/system\.slice\/enotconn-watch\.service$/);
  assert.ok(cgroupOf(box, healedPid).endsWith(`/system.slice/${daemonUnit}`), cgroupOf(box, healedPid));

  must(box, `systemctl restart ${WATCH}`);
  await waitFor(
    () => !['0', watchPid].includes(mainPid(box, WATCH)) && mountState(box, mp)?.state === 'healthy',
    60_000,
    'the restarted watch to see the mount healthy',
  );
  assert.deepEqual([bindfsPids(box), mainPid(box, daemonUnit), readBack()], [[healedPid], healedPid, content]);
  must(box, `systemctl stop ${WATCH}`);
  assert.equal(box.sh(`systemctl is-active ${WATCH}`).stdout, 'inactive\n');
  assert.equal(box.sh(`systemctl is-active ${daemonUnit}`).stdout, 'active\n');
  assert.deepEqual([bindfsPids(box), mainPid(box, daemonUnit), readBack()], [[healedPid], healedPid, content]);
  // Only the heal was watch's doing: one heal in all, none after the restart.
  assert.equal(healed().length, 1);

  // Unmounting ends the daemon, and its unit goes with it (--collect).
  must(box, `umount ${mp}`);
  await waitFor(() => bindfsPids(box).length === 0, 30_000, 'the daemon to exit after the unmount');
  await waitFor(() => box.sh(`systemctl is-active ${daemonUnit}`).stdout !== 'active\n', 30_000, 'its unit to end');
});

test('a managed daemon is a transient unit that survives kill -9, restart and stop of watch', async (t) => {
  const box = await debianHost(t);
  if (!box) return;
  const mp = '/srv/mnt';
  must(
    box,
    [
      'mkdir -p /etc/enotconn /srv/src /srv/mnt',
      'echo survived > /srv/src/data.txt',
      `printf 'interval: 1s\\nmanaged:\\n  - name: srv\\n    argv: [bindfs, -f, /srv/src, ${mp}]\\n    mountpoint: ${mp}\\n    onStop: leave-mounted\\n' > /etc/enotconn/config.yaml`,
      'enotconn watch --check-config /etc/enotconn/config.yaml',
      `systemctl restart ${WATCH}`,
    ].join(' && '),
  );
  const daemonUnit = `${daemonUnitName(mp)}.service`;
  await waitFor(() => mountState(box, mp)?.state === 'healthy', 60_000, 'the managed mount');
  const pid = String(mountState(box, mp)!.daemonPid);
  assert.equal(mainPid(box, daemonUnit), pid);
  assert.equal(mountNs(box, mainPid(box, WATCH)), mountNs(box, '1'), 'watch has no private mount namespace');
  const readBack = (): string => box.sh(`cat ${mp}/data.txt`).stdout;
  assert.equal(readBack(), 'survived\n');

  // kill -9: systemd restarts watch, which adopts the daemon.
  const first = mainPid(box, WATCH);
  must(box, `kill -9 ${first}`);
  await waitFor(() => !['', '0', first].includes(mainPid(box, WATCH)), 30_000, 'systemd to restart watch');
  assert.equal(readBack(), 'survived\n');
  await waitFor(() => String(mountState(box, mp)?.daemonPid) === pid, 60_000, 'adoption after kill -9');

  must(box, `systemctl restart ${WATCH}`);
  await waitFor(() => String(mountState(box, mp)?.daemonPid) === pid, 60_000, 'adoption after restart');
  must(box, `systemctl stop ${WATCH}`);
  assert.equal(box.sh(`systemctl is-active ${daemonUnit}`).stdout, 'active\n');
  assert.equal(mainPid(box, daemonUnit), pid);
  assert.equal(readBack(), 'survived\n');
});
