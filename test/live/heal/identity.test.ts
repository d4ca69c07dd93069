// Live: heal acts on the mount that is there (DESIGN §6). Real bindfs and sshfs mounts built by the
// tests: stacked on one path, bound as subtrees, nested, moved, and killed before anything was
// recorded. Each test asserts which mount, daemon and recipe heal used, and what the paths serve after.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { HealReport } from '../../../src/mounts/heal/apply.js';
import type { MountReport, ScanReport } from '../../../src/mounts/scan.js';
import { parseMountinfo, type MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import {
  killHard,
  liveBindfs,
  liveSshd,
  privateDirs,
  requireBinary,
  runCli,
  startFuseDaemon,
  tempDir,
  waitFor,
  type LiveMount,
} from '../../helpers/live.js';

type Env = ReturnType<typeof privateDirs>;

function table(): MountInfo[] {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'latin1'));
}

function at(mp: string): MountInfo[] {
  return table().filter((m) => m.mountpoint === mp);
}

function under(dir: string): MountInfo[] {
  return table().filter((m) => m.mountpoint === dir || m.mountpoint.startsWith(`${dir}/`));
}

function pidGone(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(() => pidGone(pid), 5000, `daemon ${pid} to die`);
}

async function heal(env: Env, args: string[]): Promise<{ code: number | null; report: HealReport }> {
  const r = await runCli(['heal', '--json', ...args], { env, timeoutMs: 90_000 });
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as HealReport };
  } catch {
    throw new Error(`heal printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
}

async function scan(env: Env, dir: string): Promise<MountReport[]> {
  const r = await runCli(['scan', '--json', dir], { env });
  return (JSON.parse(r.stdout) as ScanReport).mounts;
}

function ls(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

// A second bindfs on a path that is already a mount: wait for the second mount, not the first.
async function bindfsOnTop(t: TestContext, src: string, mp: string): Promise<LiveMount> {
  const before = at(mp).length;
  const daemon = spawn('bindfs', ['-f', '-o', 'nonempty', src, mp], { stdio: 'ignore', detached: true });
  daemon.unref();
  t.after(() => killHard(daemon.pid!));
  await waitFor(() => at(mp).length > before, 15000, `the upper bindfs on ${mp}`);
  return { mountpoint: mp, daemonPid: daemon.pid!, daemon, argv: ['bindfs', '-f', '-o', 'nonempty', src, mp] };
}

test('bindfs stacked on bindfs: each layer has its own daemon; the killed upper is healed from its own recipe, a killed lower is left alone', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-identity-');
  const env = privateDirs(t);
  const [a, b, mp] = ['lower-src', 'upper-src', 'mnt'].map((n) => path.join(dir, n)) as [string, string, string];
  fs.mkdirSync(a);
  fs.mkdirSync(b);
  fs.writeFileSync(path.join(a, 'lower.txt'), 'lower\n');
  fs.writeFileSync(path.join(b, 'upper.txt'), 'upper\n');
  const lower = await liveBindfs(t, a, mp);
  const upper = await bindfsOnTop(t, b, mp);
  const [lowerM, upperM] = at(mp) as [MountInfo, MountInfo];
  assert.equal(upperM.parentId, lowerM.id);

  // scan: each mount is credited with the daemon holding its own FUSE connection; it records both.
  let rows = await scan(env, dir);
  const byId = (id: number): MountReport => rows.find((r) => r.id === id)!;
  assert.equal(byId(lowerM.id).daemonPid, lower.daemonPid);
  assert.equal(byId(upperM.id).daemonPid, upper.daemonPid);
  assert.equal(byId(upperM.id).daemonProof, 'fdinfo');
  assert.equal(byId(upperM.id).stackedOn?.id, lowerM.id);
  assert.equal(byId(lowerM.id).stackedUnder?.id, upperM.id);

  // The upper daemon dies: the lower one is not taken for it.
  await kill9(upper.daemonPid);
  rows = await scan(env, dir);
  assert.equal(byId(upperM.id).state, 'dead');
  assert.equal(byId(upperM.id).daemonPid, null);
  assert.equal(byId(lowerM.id).daemonPid, lower.daemonPid);
  const first = await heal(env, [mp]);
  assert.equal(first.code, 0, first.report.reason);
  assert.equal(first.report.result, 'healed');
  assert.equal(first.report.recipe?.origin, 'recorded');
  assert.ok(first.report.recipe?.argv.includes(b), `recipe argv: ${first.report.recipe?.argv.join(' ')}`);
  assert.ok(!first.report.recipe?.argv.includes(a));
  const now = at(mp);
  assert.equal(now.length, 2);
  assert.equal(now[0]!.id, lowerM.id, 'the lower mount is untouched');
  assert.equal(now[1]!.source, b);
  assert.equal(now[1]!.parentId, lowerM.id);
  assert.deepEqual(ls(mp), ['upper.txt']);
  assert.equal(fs.readFileSync(path.join(mp, 'upper.txt'), 'utf8'), 'upper\n');

  // Then the lower daemon dies, under a healthy upper: heal leaves both alone, the path still serves the upper.
  await kill9(lower.daemonPid);
  rows = await scan(env, dir);
  assert.equal(byId(lowerM.id).daemonPid, null);
  assert.equal(byId(lowerM.id).errno, 'ESHADOWED');
  const second = await heal(env, [mp]);
  assert.equal(second.code, 1, second.report.reason);
  assert.equal(second.report.refusal, 'healthy');
  assert.deepEqual(
    at(mp).map((m) => m.id),
    now.map((m) => m.id),
  );
  assert.deepEqual(ls(mp), ['upper.txt']);
});

test('binds of the root and of a subdirectory come back with their own roots; a bind with a deleted root is left untouched', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-identity-');
  const env = privateDirs(t);
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(src, 'gone'));
  fs.writeFileSync(path.join(src, 'top.txt'), 'top\n');
  fs.writeFileSync(path.join(src, 'sub', 'inside.txt'), 'inside\n');
  const m = await liveBindfs(t, src, mp);
  const [bSub, bRoot, bGone] = ['bind-sub', 'bind-root', 'bind-gone'].map((n) => path.join(dir, n)) as [
    string,
    string,
    string,
  ];
  for (const [from, to] of [
    [path.join(mp, 'sub'), bSub],
    [mp, bRoot],
    [path.join(mp, 'gone'), bGone],
  ] as const) {
    fs.mkdirSync(to);
    assert.equal(spawnSync('mount', ['--bind', from, to]).status, 0);
  }
  fs.rmdirSync(path.join(mp, 'gone')); // through the mount: the bind's root is now //deleted
  const before = { sub: ls(bSub), root: ls(bRoot), mp: ls(mp) };
  assert.deepEqual(before.sub, ['inside.txt']);
  const goneBefore = at(bGone)[0]!;
  assert.equal(goneBefore.deleted, true);
  assert.equal(goneBefore.root, '/gone');
  const rows = await scan(env, dir);
  assert.deepEqual(
    rows
      .find((r) => r.mountpoint === mp)!
      .binds?.map((x) => [x.mountpoint, x.root, x.deleted])
      .sort(),
    [
      [bGone, '/gone', true],
      [bRoot, '/', false],
      [bSub, '/sub', false],
    ],
  );

  await kill9(m.daemonPid);
  // Healing the subtree bind heals the filesystem on its whole-filesystem mount and re-binds each bind.
  const { code, report } = await heal(env, [bSub]);
  assert.equal(report.mountpoint, mp);
  assert.equal(code, 1, 'one bind could not be restored, so this is not HEALED');
  assert.equal(report.result, 'failed');
  assert.match(report.reason, /bind-gone .*left dead: its root \/gone was deleted/);
  assert.deepEqual(ls(bSub), before.sub);
  assert.deepEqual(ls(bRoot), before.root);
  assert.deepEqual(ls(mp), before.mp);
  const fresh = at(mp)[0]!;
  for (const [p, root] of [
    [bSub, '/sub'],
    [bRoot, '/'],
  ] as const) {
    const x = at(p);
    assert.equal(x.length, 1, `${p} is mounted once`);
    assert.equal(`${x[0]!.major}:${x[0]!.minor}`, `${fresh.major}:${fresh.minor}`, `${p} is a bind of the new mount`);
    assert.equal(x[0]!.root, root);
  }
  // The bind of a deleted directory was not replaced by anything: it is the same (dead) mount.
  assert.deepEqual(
    at(bGone).map((x) => x.id),
    [goneBefore.id],
  );
});

test('binds of a killed bindfs are all restored and heal says HEALED', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-identity-');
  const env = privateDirs(t);
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  const bSub = path.join(dir, 'bind-sub');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'top.txt'), 'top\n');
  fs.writeFileSync(path.join(src, 'sub', 'inside.txt'), 'inside\n');
  const m = await liveBindfs(t, src, mp);
  fs.mkdirSync(bSub);
  assert.equal(spawnSync('mount', ['--bind', path.join(mp, 'sub'), bSub]).status, 0);
  await kill9(m.daemonPid);
  const { code, report } = await heal(env, [mp]);
  assert.equal(code, 0, report.reason);
  assert.equal(report.result, 'healed');
  assert.ok(
    report.steps.some(
      (s) => s.step.argv?.join(' ') === `/usr/bin/mount --bind --no-canonicalize ${mp}/sub ${bSub}` && s.ok,
    ),
  );
  assert.deepEqual(ls(bSub), ['inside.txt']);
  assert.equal(at(bSub)[0]!.root, '/sub');
  assert.deepEqual(ls(mp), ['sub', 'top.txt']);
});

test('a healthy mount nested under a killed outer daemon is re-attached and still reads its own backend, or heal changes nothing', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-identity-');
  const env = privateDirs(t);
  const outerSrc = path.join(dir, 'outer-src');
  const innerSrc = path.join(dir, 'inner-src');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(path.join(outerSrc, 'inner'), { recursive: true });
  fs.mkdirSync(innerSrc);
  fs.writeFileSync(path.join(outerSrc, 'outer.txt'), 'outer\n');
  fs.writeFileSync(path.join(innerSrc, 'inner.txt'), 'inner\n');
  const outer = await liveBindfs(t, outerSrc, mp);
  const inner = await liveBindfs(t, innerSrc, path.join(mp, 'inner'));
  const innerM = at(path.join(mp, 'inner'))[0]!;
  await kill9(outer.daemonPid);

  // diagnose names the dead parent instead of calling the inner mount dead for no reason.
  const d = await runCli(['diagnose', '--json', path.join(mp, 'inner')], { env });
  const diag = JSON.parse(d.stdout) as { state: string; causes: Array<{ id: string; parentMount?: { id: number } }> };
  if (diag.state !== 'healthy') {
    assert.equal(diag.causes[0]?.parentMount?.id, at(mp)[0]!.id, d.stdout);
    assert.equal(diag.causes[0]?.id, 'daemon-gone');
  }

  const before = under(dir).map((m) => m.id);
  const { code, report } = await heal(env, [mp]);
  t.diagnostic(`heal: ${report.result}: ${report.reason}`);
  if (code === 0) {
    assert.equal(report.result, 'healed');
    const x = at(path.join(mp, 'inner'));
    assert.equal(x.length, 1, 'the inner mount is attached again');
    assert.equal(x[0]!.source, innerSrc);
    assert.equal(x[0]!.fstype, innerM.fstype);
    // Set aside and re-attached (the same filesystem), or, when its path could no longer be walked,
    // mounted again from its live daemon's argv (a new instance of the same backend), as heal says.
    const remounted = (report.notes ?? []).some((n) => n.includes('mounted again from its own daemon'));
    if (!remounted) {
      assert.equal(`${x[0]!.major}:${x[0]!.minor}`, `${innerM.major}:${innerM.minor}`, 'the same inner filesystem');
      assert.ok(!pidGone(inner.daemonPid), 'the inner daemon was never touched');
    }
    assert.equal(x[0]!.parentId, at(mp)[0]!.id, 'under the healed outer mount');
    assert.equal(fs.readFileSync(path.join(mp, 'inner', 'inner.txt'), 'utf8'), 'inner\n');
    fs.writeFileSync(path.join(mp, 'inner', 'written-after.txt'), 'x');
    assert.ok(fs.existsSync(path.join(innerSrc, 'written-after.txt')), 'writes reach the inner backend');
    assert.ok(!fs.existsSync(path.join(outerSrc, 'inner', 'written-after.txt')));
    assert.equal(fs.readFileSync(path.join(mp, 'outer.txt'), 'utf8'), 'outer\n');
  } else {
    assert.equal(report.result === 'refused' || report.result === 'failed', true);
    assert.deepEqual(
      under(dir).map((m) => m.id),
      before,
      `heal changed the mount table: ${report.reason}`,
    );
  }
});

test('a mountpoint moved by renaming its parent, then killed, is healed with its recorded recipe and keeps its options', async (t) => {
  if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-identity-');
  const env = privateDirs(t);
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'hello.txt'), 'hello\n');
  const oldMp = path.join(dir, 'before', 'mnt');
  const newMp = path.join(dir, 'after', 'mnt');
  fs.mkdirSync(path.dirname(oldMp));
  const m = await startFuseDaemon(t, ['bindfs', '-f', '-u', 'nobody', src, oldMp], oldMp);
  assert.equal((await scan(env, dir)).find((r) => r.mountpoint === oldMp)?.daemonPid, m.daemonPid);
  fs.renameSync(path.dirname(oldMp), path.dirname(newMp));
  assert.equal(at(newMp).length, 1, 'the kernel shows the mount on its new path');
  await kill9(m.daemonPid);
  const { code, report } = await heal(env, [newMp]);
  assert.equal(code, 0, report.reason);
  assert.equal(report.recipe?.origin, 'recorded');
  assert.equal(report.recipe?.movedFrom, oldMp);
  const remount = report.plan?.find((s) => s.action === 'remount');
  // The recorded argv, pointed at the new path, run by the root-owned bindfs in a clean environment,
  // with the old mount's nosuid,nodev asked for again; `env -C` (if any) is the recorded cwd.
  const argv = remount?.argv ?? [];
  const c = argv.indexOf('-C');
  if (c >= 0) assert.equal(argv[c + 1], report.recipe?.cwd);
  assert.ok(argv.includes('PATH=/usr/sbin:/usr/bin:/sbin:/bin'), argv.join(' '));
  assert.deepEqual(
    argv.filter((x, i) => !/^[A-Z_]+=/.test(x) && x !== '-C' && argv[i - 1] !== '-C'),
    ['/usr/bin/env', '-i', '/usr/bin/bindfs', '-u', 'nobody', src, newMp, '-o', 'nosuid,nodev'],
  );
  assert.equal(fs.statSync(path.join(newMp, 'hello.txt')).uid, 65534, '-u nobody is kept');
  assert.ok(!fs.existsSync(oldMp));
});

test('sshfs with port= and IdentityFile=, killed before anything was recorded: first-contact heal works or refuses, and a refusal leaves the dead mount in place', async (t) => {
  if (!requireBinary(t, 'sshfs', 'sshd', 'fusermount3')) return;
  const dir = tempDir(t, 'enc-identity-');
  const env = privateDirs(t);
  const src = path.join(dir, 'remote');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'hello.txt'), 'over ssh\n');
  const sshd = await liveSshd(t);
  const opts = [
    `port=${sshd.port}`,
    `IdentityFile=${sshd.clientKey}`,
    'StrictHostKeyChecking=no',
    'UserKnownHostsFile=/dev/null',
    'BatchMode=yes',
  ].join(',');
  const m = await startFuseDaemon(t, ['sshfs', '-f', '-o', opts, `root@127.0.0.1:${src}`, mp], mp);
  const deadId = at(mp)[0]!.id;
  await kill9(m.daemonPid);
  const { code, report } = await heal(env, [mp]);
  assert.equal(report.recipe?.origin, 'reconstructed');
  t.diagnostic(`heal: ${report.result}: ${report.reason}`);
  if (code === 0) {
    assert.equal(report.result, 'healed');
    assert.equal(fs.readFileSync(path.join(mp, 'hello.txt'), 'utf8'), 'over ssh\n');
    const remount = report.plan?.find((s) => s.action === 'remount');
    assert.match(remount?.argv?.join(' ') ?? '', new RegExp(`port=${sshd.port}`));
  } else {
    assert.equal(code, 1);
    assert.equal(report.result, 'refused', report.reason);
    assert.equal(report.refusal, 'remount-cannot-work');
    assert.match(report.reason, /the remount cannot work/);
    assert.equal(report.steps.length, 0, 'nothing was run');
    assert.deepEqual(
      at(mp).map((x) => x.id),
      [deadId],
      'the dead mount is still in place',
    );
  }
});

test('heal of a plain directory is a usage error that names that directory', async (t) => {
  const dir = tempDir(t, 'enc-identity-');
  const plain = path.join(dir, 'plain dir');
  fs.mkdirSync(plain);
  const r = await runCli(['heal', plain], { env: privateDirs(t) });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.startsWith(`enotconn: ${plain} is not under a network or FUSE mount`), r.stderr);
});
