// Live attacks on what root runs: each test plays a hostile user against the real `enotconn`
// binary on real FUSE mounts, and fails if the attack works. A marker file that the fake programs
// append to proves whether anything of the user's ran.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { HealReport } from '../../../src/mounts/heal/apply.js';
import {
  REPO,
  ensureTestUser,
  isMounted,
  killHard,
  privateDirs,
  requireBinary,
  runCli,
  startFuseDaemon,
  tempDir,
  waitFor,
  type LiveMount,
} from '../../helpers/live.js';
import { startWatchProc } from '../watch/watch-harness.js';

type Env = ReturnType<typeof privateDirs>;

async function heal(env: Env, args: string[]): Promise<{ code: number | null; report: HealReport }> {
  const r = await runCli(['heal', '--json', ...args], { env, timeoutMs: 90_000 });
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as HealReport };
  } catch {
    throw new Error(`heal printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
}

function gone(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(() => gone(pid), 5000, `pid ${pid} to die`);
}

// The mounts at `mp` in this process's mount table: id, major:minor, per-mount options.
function mountsAt(mp: string): Array<{ id: number; dev: string; options: string[]; superOptions: string[] }> {
  const want = mp.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return fs
    .readFileSync('/proc/self/mountinfo', 'latin1')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[4] === want)
    .map((f) => ({
      id: Number(f[0]),
      dev: f[2]!,
      options: f[5]!.split(','),
      superOptions: (f[f.indexOf('-') + 3] ?? '').split(','),
    }));
}

// The process holding /dev/fuse for connection `minor` (the kernel says so in fdinfo).
function connectionHolder(minor: number): number | null {
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${n}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${n}/fd/${fd}`) !== '/dev/fuse') continue;
        const info = fs.readFileSync(`/proc/${n}/fdinfo/${fd}`, 'utf8');
        if (new RegExp(`^fuse_connection:\\s*${minor}$`, 'm').test(info)) return Number(n);
      } catch {
        // gone
      }
    }
  }
  return null;
}

function procUid(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

function procEnv(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

function recipeRow(env: Env, mp: string): { argv: string; uid: number; trust: string | null } | undefined {
  const file = path.join(env.ENOTCONN_STATE_DIR, 'enotconn.db');
  if (!fs.existsSync(file)) return undefined;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT argv, uid, trust FROM recipes WHERE mountpoint = ?').get(mp) as
      { argv: string; uid: number; trust: string | null } | undefined;
  } finally {
    db.close();
  }
}

// /dev/fuse is 0600 on this VM; a user's FUSE daemon needs the kernel's default 0666 (restored after).
function openDevFuse(t: TestContext): void {
  const mode = fs.statSync('/dev/fuse').mode & 0o777;
  if (mode !== 0o666) {
    fs.chmodSync('/dev/fuse', 0o666);
    t.after(() => fs.chmodSync('/dev/fuse', mode));
  }
}

// allow_other for a user's mount needs user_allow_other in /etc/fuse.conf (fuse(8)); so that root's
// probes see it as its users do, the test sets it and restores the file after.
function allowOther(t: TestContext): void {
  const file = '/etc/fuse.conf';
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  if (before !== null && /^\s*user_allow_other\s*$/m.test(before)) return;
  fs.writeFileSync(file, `${before ?? ''}${before && !before.endsWith('\n') ? '\n' : ''}user_allow_other\n`);
  t.after(() => (before === null ? fs.rmSync(file, { force: true }) : fs.writeFileSync(file, before)));
}

// A directory of fake programs that append "uid argv" to `marker` when run.
function evilBin(dir: string, marker: string): string {
  const bin = path.join(dir, 'evil-bin');
  fs.mkdirSync(bin, { mode: 0o755 });
  for (const name of ['setpriv', 'fusermount3', 'fusermount', 'mount', 'umount', 'env', 'bindfs', 'stat']) {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "$(id -u) ${name} $*" >> ${marker}\nexit 1\n`, {
      mode: 0o755,
    });
  }
  return bin;
}

function markerLines(marker: string): string[] {
  return fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim().split('\n').filter(Boolean) : [];
}

test('a user’s bindfs started with fake setpriv, fusermount3, mount and umount first in PATH: heal and watch --heal never run them, and the new daemon runs as the user', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3', 'setpriv')) return;
  const user = ensureTestUser();
  openDevFuse(t);
  allowOther(t);
  const dir = tempDir(t, 'enc-trust-path-');
  fs.chmodSync(dir, 0o755);
  const marker = path.join(dir, 'marker');
  fs.writeFileSync(marker, '', { mode: 0o666 });
  fs.chmodSync(marker, 0o666);
  const bin = evilBin(dir, marker);
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
  fs.mkdirSync(mp);
  for (const p of [src, path.join(src, 'hello.txt'), mp]) fs.chownSync(p, user.uid, user.gid);
  const env = privateDirs(t);
  // The user starts bindfs by absolute path, with the fake programs first in PATH and LD_ tricks.
  const m = await startFuseDaemon(t, ['/usr/bin/bindfs', '-f', src, mp], mp, {
    uid: user.uid,
    gid: user.gid,
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: user.home, USER: user.name, LD_LIBRARY_PATH: bin },
  });
  const before = markerLines(marker).length;
  const scan = await runCli(['scan', '--json', dir], { env });
  assert.equal(scan.code, 0, scan.stdout + scan.stderr);
  const row = recipeRow(env, mp);
  assert.ok(row, 'scan recorded the daemon');
  assert.equal(row.uid, user.uid);
  assert.equal((JSON.parse(row.trust ?? '{}') as { trusted?: boolean }).trusted, true, row.trust ?? 'no trust');

  await kill9(m.daemonPid);
  const { code, report } = await heal(env, [mp]);
  assert.equal(code, 0, `${report.reason}\n${JSON.stringify(report.steps, null, 1)}`);
  assert.deepEqual(markerLines(marker).slice(before), [], 'none of the user’s fake programs ran');
  const remount = report.plan?.find((s) => s.action === 'remount')?.argv ?? [];
  assert.equal(remount[0], '/usr/bin/setpriv');
  assert.ok(remount.includes('PATH=/usr/sbin:/usr/bin:/sbin:/bin'));
  assert.equal(
    remount.some((a) => a.includes(bin) || a.startsWith('LD_')),
    false,
    remount.join(' '),
  );
  const minor = Number(mountsAt(mp).at(-1)!.dev.split(':')[1]);
  const d1 = connectionHolder(minor);
  assert.ok(d1 !== null, 'a daemon holds the new mount’s connection');
  assert.equal(procUid(d1), user.uid, `the new daemon (pid ${d1}) runs as the user`);
  assert.equal(procEnv(d1).PATH, '/usr/sbin:/usr/bin:/sbin:/bin');
  assert.equal(procEnv(d1).LD_LIBRARY_PATH, undefined);

  // watch --heal: the same dead mount, healed by the daemon.
  const w = await startWatchProc(t, `interval: 300ms\nobserve:\n  include: ["${dir}/**"]\nheal:\n  policy: on\n`, {
    dirs: env,
  });
  await waitFor(async () => (await w.mount(mp))?.state === 'healthy', 20_000, 'watch to see the mount healthy');
  await kill9(d1);
  await waitFor(
    () => {
      const top = mountsAt(mp).at(-1);
      const holder = top ? connectionHolder(Number(top.dev.split(':')[1])) : null;
      return holder !== null && holder !== d1;
    },
    60_000,
    'watch to heal the mount',
  );
  const top = mountsAt(mp).at(-1)!;
  const d2 = connectionHolder(Number(top.dev.split(':')[1]))!;
  assert.equal(procUid(d2), user.uid, `watch’s new daemon (pid ${d2}) runs as the user`);
  assert.deepEqual(markerLines(marker).slice(before), [], 'none of the user’s fake programs ran under watch');
  await w.stop();
});

test('an impostor of another uid holding /dev/fuse and naming root’s mountpoint is never taken for its daemon', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  const user = ensureTestUser();
  openDevFuse(t);
  const dir = tempDir(t, 'enc-trust-impostor-');
  fs.chmodSync(dir, 0o755);
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'a.txt'), 'root data\n');
  const env = privateDirs(t);
  const m = await startFuseDaemon(t, ['bindfs', '-f', src, mp], mp);
  assert.equal((await runCli(['scan', '--json', dir], { env })).code, 0);
  const recorded = recipeRow(env, mp);
  assert.ok(recorded);
  assert.equal(recorded.uid, 0);
  // The impostor: uid 1001, /dev/fuse open, and an argv naming the source and the mountpoint as
  // bindfs would (argv[0] "bindfs", so it scores as a known daemon program).
  const imp: ChildProcess = spawn(
    process.execPath,
    ['-e', "require('fs').openSync('/dev/fuse','r+'); setInterval(()=>{}, 1e6)", src, mp],
    { uid: user.uid, gid: user.gid, stdio: 'ignore', argv0: 'bindfs', detached: true },
  );
  imp.unref();
  t.after(() => killHard(imp.pid!));
  await waitFor(
    () => {
      try {
        return fs
          .readdirSync(`/proc/${imp.pid}/fd`)
          .some((fd) => fs.readlinkSync(`/proc/${imp.pid}/fd/${fd}`) === '/dev/fuse');
      } catch {
        return false;
      }
    },
    5000,
    'the impostor to open /dev/fuse',
  );
  // While the real daemon lives, scan records nothing of the impostor's.
  assert.equal((await runCli(['scan', '--json', dir], { env })).code, 0);
  assert.deepEqual(recipeRow(env, mp), recorded);
  await kill9(m.daemonPid);
  const dg = await runCli(['diagnose', '--json', mp], { env });
  const d = JSON.parse(dg.stdout) as { daemon: { pid: number | null; uid: number | null } | null };
  assert.notEqual(d.daemon?.pid, imp.pid, 'diagnose does not name the impostor');
  const sc = await runCli(['scan', '--json', dir], { env });
  const s = JSON.parse(sc.stdout) as { mounts: Array<{ mountpoint: string; daemonPid?: number | null }> };
  assert.notEqual(s.mounts.find((x) => x.mountpoint === mp)?.daemonPid, imp.pid, 'scan does not name the impostor');
  const { report } = await heal(env, [mp]);
  assert.equal(report.recipe?.uid, 0, 'heal uses root’s recipe');
  assert.equal(
    report.steps.some((x) => x.step.signal?.pid === imp.pid),
    false,
  );
  assert.equal(gone(imp.pid!), false, 'the impostor was not signalled');
  assert.deepEqual(recipeRow(env, mp)?.argv, recorded.argv, 'the stored recipe is unchanged');
  assert.equal(recipeRow(env, mp)?.uid, 0);
});

test('first contact with a nosuid,nodev,noexec mount: the rebuilt remount keeps all three', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  const dir = tempDir(t, 'enc-trust-opts-');
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'x'), 'x\n');
  const env = privateDirs(t);
  const m: LiveMount = await startFuseDaemon(t, ['bindfs', '-f', '-o', 'nosuid,nodev,noexec', src, mp], mp);
  const old = mountsAt(mp).at(-1)!;
  for (const o of ['nosuid', 'nodev', 'noexec']) assert.ok(old.options.includes(o), `the test mount has ${o}`);
  await kill9(m.daemonPid);
  const { code, report } = await heal(env, [mp]);
  assert.equal(code, 0, report.reason);
  assert.equal(report.recipe?.origin, 'reconstructed');
  const now = mountsAt(mp).at(-1)!;
  assert.notEqual(
    now.id === old.id && now.dev === old.dev && connectionHolder(Number(now.dev.split(':')[1])) === m.daemonPid,
    true,
  );
  for (const o of ['nosuid', 'nodev', 'noexec'])
    assert.ok(now.options.includes(o), `the healed mount keeps ${o}: ${now.options.join(',')}`);
});

test('a rename/symlink race on the mountpoint’s parent: root never unmounts or mounts outside the original mount', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  const dir = tempDir(t, 'enc-trust-race-');
  const real = path.join(dir, 'p');
  const decoy = path.join(dir, 'decoy');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'x'), 'x\n');
  fs.mkdirSync(path.join(decoy, 'mnt'), { recursive: true });
  const decoySrc = path.join(dir, 'decoy-src');
  fs.mkdirSync(decoySrc);
  fs.writeFileSync(path.join(decoySrc, 'precious'), 'precious\n');
  const env = privateDirs(t);
  // The decoy: a healthy mount the attacker would like root to unmount or stack on.
  await startFuseDaemon(t, ['bindfs', '-f', decoySrc, path.join(decoy, 'mnt')], path.join(decoy, 'mnt'));
  const decoyBefore = mountsAt(path.join(decoy, 'mnt'));
  const m = await startFuseDaemon(t, ['bindfs', '-f', src, path.join(real, 'mnt')], path.join(real, 'mnt'));
  await kill9(m.daemonPid);
  // The race: swap p for a symlink to decoy and back, as fast as the shell can.
  const moved = path.join(dir, 'p.real');
  const loop = spawn(
    'sh',
    ['-c', `while :; do mv "$1" "$2" && ln -s "$3" "$1"; rm -f "$1"; mv "$2" "$1"; done`, 'sh', real, moved, decoy],
    { stdio: 'ignore', detached: true },
  );
  t.after(() => {
    try {
      process.kill(-loop.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  for (let i = 0; i < 5; i++) {
    await heal(env, [path.join(real, 'mnt')]).catch(() => null);
    assert.deepEqual(mountsAt(path.join(decoy, 'mnt')), decoyBefore, `round ${i}: the decoy mount is untouched`);
  }
  process.kill(-loop.pid!, 'SIGKILL');
  await waitFor(() => gone(loop.pid!), 5000, 'the race loop to stop');
  if (!fs.existsSync(real) && fs.existsSync(moved)) fs.renameSync(moved, real);
  if (fs.lstatSync(real).isSymbolicLink()) {
    fs.rmSync(real);
    fs.renameSync(moved, real);
  }
  assert.deepEqual(mountsAt(path.join(decoy, 'mnt')), decoyBefore, 'the decoy mount is untouched');
  assert.equal(fs.readFileSync(path.join(decoy, 'mnt', 'precious'), 'utf8'), 'precious\n');
  // Whatever got mounted, it is only ever at the original mountpoint, never under the decoy.
  assert.equal(mountsAt(path.join(decoy, 'mnt', 'mnt')).length, 0);
  assert.ok(isMounted(path.join(real, 'mnt')) || mountsAt(path.join(real, 'mnt')).length === 0);
});

test('diagnose --proc-root FIXTURE never touches the default state directory', async (t) => {
  const state = tempDir(t, 'enc-trust-defaultstate-');
  const r = await runCli(
    ['--proc-root', path.join(REPO, 'test/fixtures/proc/heal-nfs-cifs'), 'diagnose', '--json', '/mnt/share'],
    { env: { ENOTCONN_STATE_DIR: state, ENOTCONN_RUN_DIR: path.join(state, 'run') } },
  );
  assert.equal(r.stderr, '');
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}`);
  assert.deepEqual(fs.readdirSync(state), [], 'nothing was written where a real heal would read it');
});

test('a daemon whose recorded cwd is on a SIGSTOPped FUSE mount: heal and watch stay responsive and the remount runs from /', async (t) => {
  if (!requireBinary(t, 'bindfs', 'rclone')) return;
  const dir = tempDir(t, 'enc-trust-hungcwd-');
  const hsrc = path.join(dir, 'hsrc');
  const hmp = path.join(dir, 'hung');
  fs.mkdirSync(path.join(hsrc, 'sub'), { recursive: true });
  const hung = await startFuseDaemon(t, ['bindfs', '-f', hsrc, hmp], hmp);
  const remote = path.join(dir, 'remote');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(remote);
  fs.writeFileSync(path.join(remote, 'x'), 'x\n');
  fs.mkdirSync(mp);
  const env = privateDirs(t);
  // rclone in the foreground keeps the cwd it was started in (libfuse daemons chdir to / or to
  // their source): a directory inside the other mount.
  const cfg = path.join(dir, 'rclone.conf');
  fs.writeFileSync(cfg, '');
  const daemon = spawn('/usr/bin/rclone', ['mount', '--config', cfg, remote, mp], {
    cwd: path.join(hmp, 'sub'),
    stdio: 'ignore',
    detached: true,
  });
  daemon.unref();
  t.after(() => killHard(daemon.pid!));
  await waitFor(() => isMounted(mp), 15_000, 'rclone to mount');
  assert.equal((await runCli(['scan', '--json', dir], { env })).code, 0);
  assert.equal(fs.readlinkSync(`/proc/${daemon.pid}/cwd`), path.join(hmp, 'sub'));
  process.kill(hung.daemonPid, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(hung.daemonPid, 'SIGCONT');
    } catch {
      // gone
    }
  });
  // The precondition: the cwd no longer answers. Until libfuse's attribute and entry timeouts (1 s)
  // run out, the kernel answers a stat of the stopped mount from its cache.
  await waitFor(() => statHangs(path.join(hmp, 'sub')), 10_000, 'a stat of the stopped mount to hang');
  await kill9(daemon.pid!);
  const w = await startWatchProc(t, `interval: 300ms\nobserve:\n  include: ["${mp}"]\n`, { dirs: privateDirs(t) });
  let healthz = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const h = await w.get('/healthz');
      if (h.status === 200) healthz++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const { code, report } = await heal(env, [mp]);
  polling = false;
  await poller;
  assert.equal(code, 0, `${report.reason} ${JSON.stringify(report.notes)}`);
  assert.ok(
    report.notes?.some((n) => /working directory is not used/.test(n)),
    JSON.stringify(report.notes),
  );
  assert.equal(report.plan?.find((s) => s.action === 'remount')?.argv?.includes('-C'), false);
  assert.ok(healthz > 0, '/healthz answered while heal ran');
  assert.equal((await w.get('/healthz')).status, 200);
  await w.stop();
});

// True when a stat of `p` (in a child) does not return within 300 ms.
function statHangs(p: string): boolean {
  const r = spawnSync('/usr/bin/stat', ['--', p], { timeout: 300, stdio: 'ignore' });
  return r.error !== undefined || r.signal !== null;
}
