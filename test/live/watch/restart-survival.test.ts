// Live: the daemons watch starts outlive it. watch runs in a cgroup of the test's; every process in
// that cgroup is SIGKILLed at once (cgroup.kill, as systemd stops a unit), and watch is started
// again. A mount watch healed, and a managed mount it supervises, stay readable throughout, keep
// their daemon (same pid), and the new watch adopts the managed one instead of restarting it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { daemonUnitName } from '../../../src/host/daemon-launch.js';
import { forceUnmount, liveBindfs, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { cgroupOf, startWatchProc, testCgroup, type WatchProc } from './watch-harness.js';

// Pids of bindfs daemons whose argv names `mp` (the test's own temp path).
function bindfsFor(mp: string): number[] {
  const out: number[] = [];
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') === 'bindfs' && argv.includes(mp)) out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

function sessionOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// What this test process inherited without close-on-exec (the live-test lock from flock, a pipe):
// a daemon watch launches must hold none of it.
function inheritedHere(): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync('/proc/self/fd')) {
    if (Number(n) <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${n}`, 'utf8'))?.[1] ?? '2000000';
      if ((parseInt(flags, 8) & 0o2000000) === 0) out.push(fs.readlinkSync(`/proc/self/fd/${n}`));
    } catch {
      // gone
    }
  }
  return out;
}

function heldBy(pid: number): string[] {
  return fs.readdirSync(`/proc/${pid}/fd`).map((n) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${n}`);
    } catch {
      return '';
    }
  });
}

async function killWatchCgroup(w: WatchProc, cg: NonNullable<ReturnType<typeof testCgroup>>): Promise<void> {
  assert.ok(cg.pids(cg.watch).includes(w.proc.pid!), 'watch runs in the test cgroup');
  cg.killWatch();
  const exit = await w.exited;
  assert.equal(exit.signal, 'SIGKILL');
  await waitFor(() => cg.pids(cg.watch).length === 0, 10_000, "watch's cgroup to be empty");
}

test('a mount watch healed survives SIGKILL of its whole cgroup and a restart: same daemon pid, still readable', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const cg = testCgroup(t);
  if (!cg) {
    t.skip('no writable cgroup v2 hierarchy');
    return;
  }
  const dir = tempDir(t, 'enc-watchsvc-heal-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'data.txt'), 'kept\n');
  const mp = path.join(dir, 'mnt');
  t.after(() => forceUnmount(mp));
  const m = await liveBindfs(t, src, mp);
  const yaml = `interval: 500ms\nprobeTimeout: 2s\nobserve:\n  include: ["${dir}/**"]\nheal:\n  policy: on\n  failuresBeforeIncident: 2\n  backoff: { initial: 500ms }\n`;
  const w1 = await startWatchProc(t, yaml, { cgroup: cg });
  await waitFor(
    () => w1.db<{ n: number }>('SELECT COUNT(*) AS n FROM recipes WHERE mountpoint = ?', mp)[0]?.n === 1,
    20_000,
    'the recipe of the healthy mount to be recorded',
  );
  process.kill(m.daemonPid, 'SIGKILL');
  await waitFor(
    async () => (await w1.mount(mp))?.lastHealResult === 'healed' && (await w1.mount(mp))?.state === 'healthy',
    60_000,
    'watch to heal the mount',
  );
  const healed = bindfsFor(mp).filter((p) => p !== m.daemonPid);
  assert.equal(healed.length, 1, `one new bindfs daemon, saw ${healed.join(',')}`);
  const pid = healed[0]!;
  // Its own session and a sibling cgroup of watch's, named after the mountpoint.
  assert.notEqual(sessionOf(pid), sessionOf(w1.proc.pid!));
  assert.equal(sessionOf(pid), pid, 'the remount was started with setsid');
  const cgRel = cgroupOf(pid)!;
  assert.equal(path.basename(cgRel), daemonUnitName(mp));
  assert.equal(path.basename(path.dirname(cgRel)), path.basename(cg.parent));

  assert.deepEqual(
    heldBy(pid).filter((f) => inheritedHere().includes(f)),
    [],
    'the daemon holds no descriptor the test (and so watch) inherited',
  );
  await killWatchCgroup(w1, cg);
  assert.ok(alive(pid), "the healed daemon outlived the SIGKILL of watch's cgroup");
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'kept\n');

  const w2 = await startWatchProc(t, yaml, { cgroup: cg, dirs: w1.dirs });
  await waitFor(
    async () => (await w2.mount(mp))?.state === 'healthy',
    30_000,
    'the restarted watch to see the mount healthy',
  );
  assert.deepEqual(bindfsFor(mp), [pid], 'the same daemon, not a second heal');
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'kept\n');
  assert.equal((await w2.mount(mp))?.heals, 0, 'the restarted watch did not heal it again');
});

test("a managed mount survives SIGKILL of watch's cgroup and is adopted, not restarted, by the next watch", async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const cg = testCgroup(t);
  if (!cg) {
    t.skip('no writable cgroup v2 hierarchy');
    return;
  }
  const dir = tempDir(t, 'enc-watchsvc-man-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'data.txt'), 'managed\n');
  const mp = path.join(dir, 'mnt');
  t.after(() => forceUnmount(mp));
  const yaml = `interval: 500ms\nobserve:\n  include: ["${dir}/**"]\nmanaged:\n  - name: keep\n    argv: [bindfs, -f, ${JSON.stringify(src)}, ${JSON.stringify(mp)}]\n    mountpoint: ${mp}\n`;
  const w1 = await startWatchProc(t, yaml, { cgroup: cg });
  await waitFor(async () => (await w1.mount(mp))?.state === 'healthy', 30_000, 'the managed mount to come up');
  const pid = (await w1.mount(mp))!.daemonPid!;
  assert.deepEqual(bindfsFor(mp), [pid]);
  assert.equal(sessionOf(pid), pid, 'the daemon leads its own session');
  assert.equal(path.basename(cgroupOf(pid)!), daemonUnitName(mp));
  // Its output goes to a 0600 log file, never to a pipe that would SIGPIPE it once watch is gone.
  assert.equal(fs.readlinkSync(`/proc/${pid}/fd/1`), path.join(w1.dirs.ENOTCONN_STATE_DIR, 'logs', 'managed-keep.log'));

  assert.deepEqual(
    heldBy(pid).filter((f) => inheritedHere().includes(f)),
    [],
    'the daemon holds no descriptor the test (and so watch) inherited',
  );
  await killWatchCgroup(w1, cg);
  assert.ok(alive(pid), "the managed daemon outlived the SIGKILL of watch's cgroup");
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'managed\n');

  const w2 = await startWatchProc(t, yaml, { cgroup: cg, dirs: w1.dirs });
  await waitFor(async () => (await w2.mount(mp))?.daemonPid === pid, 30_000, 'the new watch to adopt the daemon');
  assert.match(w2.logs(), /adopted the healthy mount an earlier watch left up/);
  // A full probe cycle later it is still the same daemon, healthy, and never restarted.
  const cycleAfter = Date.now();
  await waitFor(
    async () => Date.parse((await w2.json<{ lastCycleAt: string | null }>('/healthz')).lastCycleAt ?? '0') > cycleAfter,
    10_000,
    'a probe cycle after adoption',
  );
  const v = (await w2.mount(mp))!;
  assert.equal(v.state, 'healthy');
  assert.equal(v.daemonPid, pid);
  assert.deepEqual(bindfsFor(mp), [pid]);
  assert.equal(await w2.metric('enotconn_managed_restarts_total', { name: 'keep' }), null);
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'managed\n');
  // SIGTERM of the adopting watch unmounts it as configured (onStop: unmount).
  await w2.stop();
  await waitFor(() => !alive(pid), 10_000, 'the adopted daemon to exit after the clean unmount');
});
