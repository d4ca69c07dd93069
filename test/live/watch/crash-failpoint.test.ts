// Live: kill -9 of watch in exactly one state between two steps, for a supervised mount, an
// observed one, and an observed one with a child mount set aside. ENOTCONN_FAILPOINT (a test hook,
// src/host/failpoint.ts) makes watch stop itself right after the named step has been audited and
// journaled; the test checks that state, kills watch, starts another one, and asserts the mount is
// back with its content, the audit log shows each step exactly once, and a bystander whose argv
// names the mountpoint still lives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseMountinfo, type MountInfo } from '../../../src/mounts/mountinfo/parse.js';
import { liveBindfs, mountsOn as at, requireBinary, startFuseDaemon, tempDir, waitFor } from '../../helpers/live.js';
import {
  alive,
  auditSteps,
  bystander,
  mountCount,
  procState,
  managedBack,
  startWatchProc,
  type WatchProc,
} from './watch-harness.js';

// Wait until watch has stopped itself at the failpoint, then kill it as a crash would.
async function crashAtFailpoint(w: WatchProc, what: string): Promise<void> {
  await waitFor(() => procState(w.proc.pid!) === 'T', 60_000, `watch to stop itself ${what}`);
}

async function kill9(w: WatchProc): Promise<void> {
  w.proc.kill('SIGKILL');
  const e = await w.exited;
  assert.equal(e.signal, 'SIGKILL');
}

async function killDaemon(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !alive(pid), 5000, `daemon ${pid} to die`);
}

function journal(w: WatchProc, mp: string): { phase: string; recipe: string } | undefined {
  return w.db<{ phase: string; recipe: string }>(
    'SELECT phase, recipe FROM watch_heal_journal WHERE mountpoint = ?',
    mp,
  )[0];
}

test('supervised mount: watch killed between the supervisor’s clear and its start: the next watch starts it once, a bystander lives', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  const dir = tempDir(t, 'enc-trust-fpsup-');
  const src = path.join(dir, 'src');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(src);
  fs.mkdirSync(mp);
  fs.writeFileSync(path.join(src, 'data.txt'), 'supervised\n');
  const config = `interval: 500ms\nmanaged:\n  - name: data\n    argv: ${JSON.stringify(['bindfs', '-f', src, mp])}\n    mountpoint: ${mp}\n`;
  const a = await startWatchProc(t, config, { env: { ENOTCONN_FAILPOINT: 'after-step:unmount-lazy:supervisor' } });
  await waitFor(async () => (await a.mount(mp))?.state === 'healthy', 30_000, 'the managed mount to come up');
  const first = (await a.mount(mp))!.daemonPid!;
  const by = bystander(t, mp);
  await killDaemon(first);
  await crashAtFailpoint(a, 'after clearing the dead mount');
  // Exactly between the two steps: the dead mount is cleared, no daemon has been started.
  assert.equal(mountCount(mp), 0, 'the dead mount was cleared');
  assert.deepEqual(auditSteps(a.dirs.ENOTCONN_STATE_DIR, mp), ['supervisor:remount:ok', 'supervisor:unmount-lazy:ok']);
  await kill9(a);
  assert.equal(mountCount(mp), 0);

  const b = await startWatchProc(t, config, { dirs: a.dirs });
  await managedBack(b, mp, first);
  assert.equal(mountCount(mp), 1);
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'supervised\n');
  assert.deepEqual(auditSteps(a.dirs.ENOTCONN_STATE_DIR, mp), [
    'supervisor:remount:ok',
    'supervisor:unmount-lazy:ok',
    'supervisor:remount:ok',
  ]);
  assert.equal(alive(by.pid!), true, 'the bystander naming the mountpoint is alive');
  await b.stop();
});

test('observed mount: watch killed between the heal’s unmount and its remount: the next watch remounts from the journal, a bystander lives', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  const dir = tempDir(t, 'enc-trust-fpobs-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'r.txt'), 'observed\n');
  const mp = path.join(dir, 'mnt');
  const m = await liveBindfs(t, src, mp);
  const by = bystander(t, mp);
  const config = `interval: 300ms\nobserve:\n  include: ["${mp}"]\nheal:\n  policy: on\n`;
  const a = await startWatchProc(t, config, { env: { ENOTCONN_FAILPOINT: 'after-step:unmount:watch' } });
  await waitFor(
    () => a.db<{ n: number }>('SELECT COUNT(*) AS n FROM recipes WHERE mountpoint = ?', mp)[0]?.n === 1,
    20_000,
    'the recipe to be recorded',
  );
  await killDaemon(m.daemonPid);
  await crashAtFailpoint(a, 'after the unmount');
  assert.equal(mountCount(mp), 0, 'the dead mount is unmounted and nothing is mounted yet');
  assert.deepEqual(auditSteps(a.dirs.ENOTCONN_STATE_DIR, mp), ['watch:unmount:ok']);
  const j = journal(a, mp)!;
  assert.match(j.phase, /^step:\d+:ok:unmount$/);
  const plan = JSON.parse(j.recipe) as { plan: Array<{ action: string }> };
  assert.deepEqual(
    plan.plan.map((s) => s.action),
    ['unmount', 'unmount-lazy', 'remount'],
  );
  await kill9(a);

  const b = await startWatchProc(t, config, { dirs: a.dirs });
  await waitFor(async () => (await b.mount(mp))?.state === 'healthy', 60_000, 'the mount to be back');
  assert.equal(mountCount(mp), 1);
  assert.equal(fs.readFileSync(path.join(mp, 'r.txt'), 'utf8'), 'observed\n');
  assert.deepEqual(
    b
      .db<{ result: string }>("SELECT result FROM watch_heals WHERE action = 'recover-journal' AND mountpoint = ?", mp)
      .map((r) => r.result),
    ['remounted'],
  );
  assert.deepEqual(auditSteps(a.dirs.ENOTCONN_STATE_DIR, mp), ['watch:unmount:ok', 'recovery:remount:ok']);
  assert.equal(alive(by.pid!), true, 'the bystander naming the mountpoint is alive');
  await b.stop();
});

// An observed bindfs with a healthy child mount under it. Long entry and attribute timeouts keep
// the dead parent's dentries valid, so the path to the child can still be walked and the heal sets
// the child aside (rather than mounting it again from its daemon).
async function parentWithChild(
  t: TestContext,
  dir: string,
): Promise<{ mp: string; child: string; childMount: MountInfo; parentPid: number }> {
  const src = path.join(dir, 'src');
  const csrc = path.join(dir, 'csrc');
  fs.mkdirSync(path.join(src, 'child'), { recursive: true });
  fs.mkdirSync(csrc);
  fs.writeFileSync(path.join(src, 'p.txt'), 'parent\n');
  fs.writeFileSync(path.join(csrc, 'c.txt'), 'child\n');
  const mp = path.join(dir, 'mnt');
  const parent = await startFuseDaemon(t, ['bindfs', '-f', '-o', 'entry_timeout=600,attr_timeout=600', src, mp], mp);
  const child = path.join(mp, 'child');
  await liveBindfs(t, csrc, child);
  assert.equal(fs.readFileSync(path.join(child, 'c.txt'), 'utf8'), 'child\n');
  return { mp, child, childMount: at(child)[0]!, parentPid: parent.daemonPid };
}

// The child is attached again where it was: the same filesystem, under the healed parent.
function assertChildBack(mp: string, child: string, childMount: MountInfo): void {
  const parent = at(mp);
  const kid = at(child);
  assert.equal(parent.length, 1, 'one mount on the parent path');
  assert.equal(kid.length, 1, 'one mount on the child path');
  assert.equal(`${kid[0]!.major}:${kid[0]!.minor}`, `${childMount.major}:${childMount.minor}`, 'the same child');
  assert.equal(kid[0]!.parentId, parent[0]!.id, 'under the healed parent');
  assert.equal(fs.readFileSync(path.join(mp, 'p.txt'), 'utf8'), 'parent\n');
  assert.equal(fs.readFileSync(path.join(child, 'c.txt'), 'utf8'), 'child\n');
}

function stageEntries(w: WatchProc): string[] {
  const stage = path.join(w.dirs.ENOTCONN_RUN_DIR, 'stage');
  return fs.existsSync(stage) ? fs.readdirSync(stage) : [];
}

for (const fp of [
  {
    point: 'after-step:unmount:watch',
    when: 'after the parent’s unmount, the child set aside',
    before: ['watch:remount:ok', 'watch:unmount-lazy:ok', 'watch:unmount:ok'],
    // The next watch runs the journaled remount, then re-attaches the child and drops its copy.
    after: ['recovery:remount:ok', 'recovery:remount:ok', 'recovery:unmount-lazy:ok'],
  },
  {
    point: 'after-step:unmount-lazy:watch',
    when: 'after the child was set aside, before the parent’s unmount',
    before: ['watch:remount:ok', 'watch:unmount-lazy:ok'],
    // The dead parent is still there: the next watch finishes the journaled plan from its start.
    after: ['recovery:unmount:ok', 'recovery:remount:ok', 'recovery:remount:ok', 'recovery:unmount-lazy:ok'],
  },
]) {
  test(`observed mount with a child: watch killed ${fp.when}: the next watch puts the child back and the staging area is empty`, async (t) => {
    if (!requireBinary(t, 'bindfs')) return;
    const dir = tempDir(t, 'enc-trust-fpchild-');
    const { mp, child, childMount, parentPid } = await parentWithChild(t, dir);
    const config = `interval: 300ms\nobserve:\n  include: ["${mp}"]\nheal:\n  policy: on\n`;
    const a = await startWatchProc(t, config, { env: { ENOTCONN_FAILPOINT: fp.point } });
    await waitFor(
      () => a.db<{ n: number }>('SELECT COUNT(*) AS n FROM recipes WHERE mountpoint = ?', mp)[0]?.n === 1,
      20_000,
      'the recipe to be recorded',
    );
    await killDaemon(parentPid);
    await crashAtFailpoint(a, fp.when);
    const steps = (): string[] => [
      ...auditSteps(a.dirs.ENOTCONN_STATE_DIR, mp),
      ...auditSteps(a.dirs.ENOTCONN_STATE_DIR, child),
    ];
    assert.deepEqual(auditSteps(a.dirs.ENOTCONN_STATE_DIR, child), ['watch:remount:ok', 'watch:unmount-lazy:ok']);
    assert.equal(steps().length, fp.before.length, steps().join(' '));
    assert.equal(at(child).length, 0, 'the child is detached from its path');
    const staged = stageEntries(a);
    assert.equal(staged.length, 1, 'one heal’s staging directory');
    const copy = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'latin1')).filter((m) =>
      m.mountpoint.startsWith(path.join(a.dirs.ENOTCONN_RUN_DIR, 'stage')),
    );
    assert.deepEqual(
      copy.map((m) => `${m.major}:${m.minor}`),
      [`${childMount.major}:${childMount.minor}`],
      'the child is kept under the staging directory',
    );
    const j = journal(a, mp)!;
    const plan = JSON.parse(j.recipe) as { topology?: { before: unknown[]; after: unknown[] } };
    assert.equal(plan.topology?.before.length, 2, 'the journal holds the topology steps');
    assert.equal(plan.topology?.after.length, 2);
    await kill9(a);

    const b = await startWatchProc(t, config, { dirs: a.dirs });
    await waitFor(
      async () => (await b.mount(mp))?.state === 'healthy' && at(child).length === 1,
      60_000,
      'the parent and its child to be back',
    );
    assertChildBack(mp, child, childMount);
    assert.deepEqual(stageEntries(b), [], 'the staging area is empty');
    assert.equal(
      parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'latin1')).filter((m) =>
        m.mountpoint.startsWith(path.join(a.dirs.ENOTCONN_RUN_DIR, 'stage')),
      ).length,
      0,
      'no staging copy is left mounted',
    );
    const all = fs
      .readFileSync(path.join(a.dirs.ENOTCONN_STATE_DIR, 'heal-audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; origin: string; action: string; ok: boolean })
      .filter((l) => l.kind === 'step')
      .map((l) => `${l.origin}:${l.action}:${l.ok ? 'ok' : 'failed'}`);
    assert.deepEqual(all, [...fp.before, ...fp.after]);
    await b.stop();
  });
}
