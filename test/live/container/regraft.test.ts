// Live: running podman containers (runc) whose volumes come from a host bindfs mount are healed in
// place after the daemon is killed with SIGKILL. The containers are not restarted; their own
// loops read the data again; a subPath volume keeps its subdirectory root and a read-only one
// stays read-only. A hostile image ships fake umount/mount/perl/nsenter/setpriv/stat/sha256sum/sh
// that leave markers if run: none may appear. A container with one static binary and no shell is
// healed too, and watch does it with no command typed (heal.policy on, heal.propagate true).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { parseMountinfo, type MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import type { HealReport } from '../../../src/mounts/heal/apply.js';
import { FAKES, PODMAN, ensureTestImage, type TestImage } from '../../helpers/container-images.js';
import {
  killHard,
  liveBindfs,
  privateDirs,
  requireBinary,
  runCli,
  tempDir,
  waitFor,
  type LiveMount,
} from '../../helpers/live.js';
import { startWatchProc } from '../watch/watch-harness.js';

const images = new Map<TestImage, string>();

before(() => {
  if (!fs.existsSync(PODMAN[0]!) || !fs.existsSync('/usr/sbin/runc') || !fs.existsSync('/bin/busybox')) return;
  for (const k of ['plain', 'hostile', 'static'] as const) images.set(k, ensureTestImage(k));
});

function podman(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PODMAN[0]!, [...PODMAN.slice(1), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Box {
  name: string;
  pid: number;
  startedAt: string;
}

function inspect(name: string): { pid: number; startedAt: string; running: boolean } {
  const r = podman('inspect', '-f', '{{.State.Pid}} {{.State.StartedAt}} {{.State.Running}}', name);
  const [pid, ...rest] = r.stdout.trim().split(' ');
  return { pid: Number(pid), startedAt: rest.slice(0, -1).join(' '), running: rest.at(-1) === 'true' };
}

// A detached container with `volumes` (-v values) running `cmd`; removed after the test.
function runContainer(t: TestContext, image: string, volumes: string[], cmd: string[]): Box {
  const name = `enc-regraft-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const r = podman(
    'run',
    '-d',
    '--name',
    name,
    '--network=none',
    '--ulimit',
    'nofile=4096:4096',
    '--ulimit',
    'nproc=4096:4096',
    ...volumes.flatMap((v) => ['-v', v]),
    image,
    ...cmd,
  );
  assert.equal(r.code, 0, r.stderr);
  t.after(() => podman('rm', '-f', '-t', '0', name));
  const s = inspect(name);
  assert.ok(s.running && s.pid > 0, `the container runs (${JSON.stringify(s)})`);
  return { name, pid: s.pid, startedAt: s.startedAt };
}

// The container's own loop: every 100 ms, each volume's f (or the error) into /out/<volume>.
function loop(volumes: string[]): string[] {
  const bb = '/bin/busybox';
  const body = volumes
    .map(
      (v) =>
        `if c=$(${bb} cat /${v}/f 2>&1); then echo "OK:$c" > /out/${v}.tmp; else echo "ERR:$c" > /out/${v}.tmp; fi; ${bb} mv /out/${v}.tmp /out/${v}`,
    )
    .join('; ');
  return [bb, 'sh', '-c', `while true; do ${body}; ${bb} sleep 0.1; done`];
}

function last(out: string, v: string): string {
  try {
    return fs.readFileSync(path.join(out, v), 'utf8').trim();
  } catch {
    return '';
  }
}

// The top mount at `mp` in the container's namespace.
function seenIn(pid: number, mp: string): MountInfo | undefined {
  return parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
    .filter((m) => m.mountpoint === mp)
    .at(-1);
}

function hostDevice(mp: string): string {
  const m = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))
    .filter((x) => x.mountpoint === mp)
    .at(-1);
  return m ? `${m.major}:${m.minor}` : '';
}

interface Setup {
  dir: string;
  src: string;
  mp: string;
  out: string;
  mount: LiveMount;
  env: Record<string, string>;
}

async function setup(t: TestContext, kind: TestImage): Promise<Setup | null> {
  if (!requireBinary(t, 'podman', 'runc', 'bindfs')) return null;
  if (!images.has(kind)) {
    t.skip('SKIPPED: podman, runc or busybox-static is missing');
    return null;
  }
  const dir = tempDir(t, 'enc-regraft-');
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  const out = path.join(dir, 'out');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(src, 'f'), 'whole volume');
  fs.writeFileSync(path.join(src, 'sub', 'f'), 'sub path');
  const mount = await liveBindfs(t, src, mp);
  return { dir, src, mp, out, mount, env: privateDirs(t) };
}

async function killDaemon(s: Setup, out: string, volume: string): Promise<void> {
  killHard(s.mount.daemonPid);
  await waitFor(
    () => /Transport endpoint is not connected/.test(last(out, volume)),
    10_000,
    'the container to read ENOTCONN',
  );
}

async function healPropagate(s: Setup): Promise<HealReport> {
  const r = await runCli(['heal', s.mp, '--propagate', '--json'], { env: s.env, timeoutMs: 60_000 });
  let report: HealReport;
  try {
    report = JSON.parse(r.stdout) as HealReport;
  } catch {
    throw new Error(`heal printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  assert.equal(r.code, 0, `${report.reason}\n${JSON.stringify(report.namespaces, null, 1)}`);
  return report;
}

test('heal --propagate: a running container reads its whole, subPath and read-only volumes again, not restarted', async (t) => {
  const s = await setup(t, 'plain');
  if (!s) return;
  const box = runContainer(
    t,
    images.get('plain')!,
    [`${s.mp}:/data`, `${s.mp}/sub:/sub`, `${s.mp}:/ro:ro`, `${s.out}:/out`],
    loop(['data', 'sub', 'ro']),
  );
  await waitFor(
    () => last(s.out, 'data') === 'OK:whole volume' && last(s.out, 'sub') === 'OK:sub path',
    10_000,
    'the loop to read',
  );
  const loopPid = fs.readFileSync(`/proc/${box.pid}/stat`, 'utf8');
  await killDaemon(s, s.out, 'data');
  const report = await healPropagate(s);
  assert.equal(report.result, 'healed');
  assert.deepEqual(
    (report.namespaces ?? []).map((n) => [n.mountpoint, n.ok]).sort(),
    [
      ['/data', true],
      ['/ro', true],
      ['/sub', true],
    ],
    JSON.stringify(report.namespaces),
  );
  // Every graft went through the executor and the audit log, as the helper's step.
  const grafts = report.steps.filter((r) => r.step.action === 'graft');
  assert.equal(grafts.length, 3, JSON.stringify(grafts.map((g) => [g.step.graft, g.ok, g.skipped, g.output])));
  const audit = fs
    .readFileSync(path.join(s.env.ENOTCONN_STATE_DIR!, 'heal-audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"step"') && l.includes('"action":"graft"'));
  assert.equal(audit.length, 3);
  // The container's own loop reads each volume again.
  await waitFor(
    () =>
      last(s.out, 'data') === 'OK:whole volume' &&
      last(s.out, 'sub') === 'OK:sub path' &&
      last(s.out, 'ro') === 'OK:whole volume',
    10_000,
    'the container loop to read again',
  );
  // Not restarted: same container process, same start time.
  const now = inspect(box.name);
  assert.deepEqual([now.pid, now.startedAt, now.running], [box.pid, box.startedAt, true]);
  assert.equal(fs.readFileSync(`/proc/${box.pid}/stat`, 'utf8').split(' ')[21], loopPid.split(' ')[21]);
  // The grafted mounts: the healed superblock, the subPath root and the ro flag kept.
  const dev = hostDevice(s.mp);
  const data = seenIn(box.pid, '/data')!;
  const sub = seenIn(box.pid, '/sub')!;
  const ro = seenIn(box.pid, '/ro')!;
  assert.deepEqual(
    [data, sub, ro].map((m) => [`${m.major}:${m.minor}`, m.root, m.options.includes('ro')]),
    [
      [dev, '/', false],
      [dev, '/sub', false],
      [dev, '/', true],
    ],
  );
  assert.throws(() => fs.writeFileSync(`/proc/${box.pid}/root/ro/x`, 'x'), /EROFS/);
  fs.writeFileSync(`/proc/${box.pid}/root/data/written-in-container`, 'y');
  assert.equal(fs.readFileSync(path.join(s.src, 'written-in-container'), 'utf8'), 'y');
});

test('a hostile image: none of its fake umount, mount, perl, nsenter, setpriv, stat, sha256sum or sh runs, and the heal works', async (t) => {
  const s = await setup(t, 'hostile');
  if (!s) return;
  const box = runContainer(t, images.get('hostile')!, [`${s.mp}:/data`, `${s.out}:/out`], loop(['data']));
  await waitFor(() => last(s.out, 'data') === 'OK:whole volume', 10_000, 'the loop to read');
  // The fakes work when run: the image really is hostile.
  const probe = spawnSync('nsenter', ['-t', String(box.pid), '-m', '-r', '-w', '--', '/usr/bin/stat', '/'], {
    encoding: 'utf8',
  });
  assert.equal(probe.status, 0, probe.stderr);
  assert.match(fs.readFileSync(`/proc/${box.pid}/root/markers/stat`, 'utf8'), /^ran \/usr\/bin\/stat/);
  fs.rmSync(`/proc/${box.pid}/root/markers/stat`);
  await killDaemon(s, s.out, 'data');
  const report = await healPropagate(s);
  assert.equal(report.result, 'healed');
  await waitFor(() => last(s.out, 'data') === 'OK:whole volume', 10_000, 'the container loop to read again');
  const markers = fs.readdirSync(`/proc/${box.pid}/root/markers`);
  assert.deepEqual(
    markers,
    [],
    `the container's binaries ran as host root: ${markers.join(', ')} (fakes: ${FAKES.join(' ')})`,
  );
});

test('a container with one static binary and no shell or tools is healed in place', async (t) => {
  const s = await setup(t, 'static');
  if (!s) return;
  const box = runContainer(t, images.get('static')!, [`${s.mp}:/data`, `${s.out}:/out`], ['/reader']);
  // No shell, no tools: the image has the reader and empty directories only.
  for (const p of ['bin', 'usr', 'sbin']) assert.equal(fs.existsSync(`/proc/${box.pid}/root/${p}`), false, p);
  await waitFor(() => last(s.out, 'last') === 'OK:whole volume', 10_000, 'the reader to read');
  await killDaemon(s, s.out, 'last');
  const report = await healPropagate(s);
  assert.equal(report.result, 'healed');
  await waitFor(() => last(s.out, 'last') === 'OK:whole volume', 10_000, 'the reader to read again');
  assert.equal(inspect(box.name).pid, box.pid);
});

test('watch with heal on and propagate: true heals the host mount and the container in place, with no command typed', async (t) => {
  const s = await setup(t, 'plain');
  if (!s) return;
  const box = runContainer(t, images.get('plain')!, [`${s.mp}/sub:/sub`, `${s.out}:/out`], loop(['sub']));
  await waitFor(() => last(s.out, 'sub') === 'OK:sub path', 10_000, 'the loop to read');
  const w = await startWatchProc(
    t,
    `interval: 300ms\nobserve:\n  include: ["${s.mp}"]\nheal:\n  policy: on\n  propagate: true\n`,
    { dirs: s.env as { ENOTCONN_RUN_DIR: string; ENOTCONN_STATE_DIR: string } },
  );
  await waitFor(async () => (await w.mount(s.mp))?.state === 'healthy', 10_000, 'watch to see the mount');
  await killDaemon(s, s.out, 'sub');
  await waitFor(() => last(s.out, 'sub') === 'OK:sub path', 30_000, 'the container loop to read again').catch(
    (e: Error) => {
      throw new Error(`${e.message}; watch: ${w.logs().slice(-3000)}`);
    },
  );
  assert.equal(inspect(box.name).pid, box.pid);
  const sub = seenIn(box.pid, '/sub')!;
  assert.deepEqual([`${sub.major}:${sub.minor}`, sub.root], [hostDevice(s.mp), '/sub']);
  const grafts = fs
    .readFileSync(path.join(s.env.ENOTCONN_STATE_DIR!, 'heal-audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"step"') && l.includes('"action":"graft"') && l.includes('"origin":"watch"'));
  assert.equal(grafts.length, 1, 'one graft step, audited, by watch');
});

test('the kubelet layout: staging FUSE mount, two publish binds and a subPath bind, each in its own container; watch heals all', async (t) => {
  const s = await setup(t, 'plain');
  if (!s) return;
  // What kubelet and a CSI node plugin leave on a node: the driver's staging mount, a bind of it
  // per pod that uses the volume (publish), and a bind of a subdirectory for a subPath.
  const k = path.join(s.dir, 'kubelet');
  const staging = path.join(k, 'plugins/kubernetes.io/csi/fuse.example.com/0f3c9a/globalmount');
  const pubA = path.join(k, 'pods/1111-aaaa/volumes/kubernetes.io~csi/pv-1/mount');
  const pubB = path.join(k, 'pods/2222-bbbb/volumes/kubernetes.io~csi/pv-1/mount');
  const subC = path.join(k, 'pods/3333-cccc/volume-subpaths/pv-1/app/0');
  const staged = await liveBindfs(t, s.src, staging);
  const binds: Array<[string, string]> = [
    [staging, pubA],
    [staging, pubB],
    [path.join(staging, 'sub'), subC],
  ];
  for (const [from, to] of binds) {
    fs.mkdirSync(to, { recursive: true });
    assert.equal(spawnSync('/usr/bin/mount', ['--bind', from, to]).status, 0);
    t.after(() => spawnSync('/usr/bin/umount', ['-l', '--no-canonicalize', to], { timeout: 5000 }));
  }
  const outs = ['a', 'b', 'c'].map((x) => {
    const d = path.join(s.dir, `out-${x}`);
    fs.mkdirSync(d);
    return d;
  });
  const boxes = [pubA, pubB, subC].map((p, i) =>
    runContainer(t, images.get('plain')!, [`${p}:/data`, `${outs[i]}:/out`], loop(['data'])),
  );
  const reads = (): string[] => outs.map((o) => last(o, 'data'));
  const want = ['OK:whole volume', 'OK:whole volume', 'OK:sub path'];
  await waitFor(() => JSON.stringify(reads()) === JSON.stringify(want), 10_000, 'the three pods to read');
  const w = await startWatchProc(
    t,
    `interval: 300ms\nobserve:\n  include: ["${k}/**"]\nheal:\n  policy: on\n  propagate: true\n`,
    { dirs: s.env as { ENOTCONN_RUN_DIR: string; ENOTCONN_STATE_DIR: string } },
  );
  await waitFor(async () => (await w.mount(staging))?.state === 'healthy', 10_000, 'watch to see the staging mount');
  killHard(staged.daemonPid);
  killHard(s.mount.daemonPid); // the suite's own mount of the same source, unused here
  await waitFor(
    () => reads().every((r) => /Transport endpoint is not connected/.test(r)),
    10_000,
    'the pods to read ENOTCONN',
  );
  await waitFor(
    () => JSON.stringify(reads()) === JSON.stringify(want),
    30_000,
    `every pod to read again (${JSON.stringify(reads())}); watch: ${w.logs().slice(-2000)}`,
  );
  // The host's publish paths were re-bound from the healed staging mount, each with its own root
  // (before the containers were re-grafted).
  await waitFor(async () => (await w.mount(staging))?.healing === false, 10_000, 'the heal to end');
  assert.equal(fs.readFileSync(path.join(pubA, 'f'), 'utf8'), 'whole volume');
  assert.equal(fs.readFileSync(path.join(pubB, 'f'), 'utf8'), 'whole volume');
  assert.equal(fs.readFileSync(path.join(subC, 'f'), 'utf8'), 'sub path');
  const dev = hostDevice(staging);
  for (const [i, b] of boxes.entries()) {
    const m = seenIn(b.pid, '/data')!;
    assert.deepEqual([`${m.major}:${m.minor}`, m.root], [dev, i === 2 ? '/sub' : '/']);
    assert.equal(inspect(b.name).pid, b.pid, 'not restarted');
  }
});

test('a CSI driver remounts its staging mount itself: watch re-grafts the dead copy in the container once the new mount answers', async (t) => {
  const s = await setup(t, 'plain');
  if (!s) return;
  const box = runContainer(t, images.get('plain')!, [`${s.mp}:/data`, `${s.out}:/out`], loop(['data']));
  await waitFor(() => last(s.out, 'data') === 'OK:whole volume', 10_000, 'the loop to read');
  // The driver owns the mount: watch never gets to heal it itself (no incident before it is back).
  const w = await startWatchProc(
    t,
    `interval: 300ms\nobserve:\n  include: ["${s.mp}"]\nheal:\n  policy: on\n  propagate: true\n  failuresBeforeIncident: 1000\n`,
    { dirs: s.env as { ENOTCONN_RUN_DIR: string; ENOTCONN_STATE_DIR: string } },
  );
  await waitFor(async () => (await w.mount(s.mp))?.state === 'healthy', 10_000, 'watch to see the mount');
  await killDaemon(s, s.out, 'data');
  // The driver's own recovery: detach the dead mount and mount a fresh one on the same path.
  assert.equal(spawnSync('/usr/bin/umount', ['-l', '--no-canonicalize', s.mp]).status, 0);
  await liveBindfs(t, s.src, s.mp);
  await waitFor(() => last(s.out, 'data') === 'OK:whole volume', 30_000, 'the container loop to read again').catch(
    (e: Error) => {
      throw new Error(`${e.message}; watch: ${w.logs().slice(-3000)}`);
    },
  );
  assert.equal(inspect(box.name).pid, box.pid);
  const data = seenIn(box.pid, '/data')!;
  assert.equal(`${data.major}:${data.minor}`, hostDevice(s.mp));
  const audit = fs.readFileSync(path.join(s.env.ENOTCONN_STATE_DIR!, 'heal-audit.jsonl'), 'utf8').split('\n');
  assert.equal(audit.filter((l) => l.includes('"kind":"step"') && l.includes('"action":"graft"')).length, 1);
  assert.equal(
    audit.filter((l) => l.includes('"kind":"step"') && l.includes('"action":"remount"')).length,
    0,
    'watch did not remount',
  );
});
