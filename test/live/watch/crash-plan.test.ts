// Live: kill -9 of watch around the unmount and the remount, racing the heal (an observed mount
// whose remount is in flight, a managed mount killed with its daemon); crash-failpoint.test.ts
// stops watch exactly between two steps instead. The next watch settles the heal from the
// journaled plan through the one step executor: the mount is back, the audit log shows each step
// once, and a bystander whose argv names the mountpoint is left alone (nothing is ever killed for
// what its argv says).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { liveBindfs, liveSshd, requireBinary, sshfsOptions, tempDir, waitFor } from '../../helpers/live.js';
import { alive, auditSteps, bystander, managedBack, mountCount, startWatchProc } from './watch-harness.js';

// Pids of bindfs processes whose argv names `mp` (read only).
function bindfsFor(mp: string): number[] {
  const out: number[] = [];
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('bindfs')) && argv.includes(mp)) out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

test('observed mount: kill -9 of watch with its remount in flight (the old mount gone, the remount killed with it): the next watch remounts from the journaled plan', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  const dir = tempDir(t, 'enc-trust-crash-');
  // The mount's source lies on another FUSE mount. With that one's daemon stopped, the heal's
  // remount (bindfs checks its source before mounting) waits: the old mount is gone, no new one yet.
  const hsrc = path.join(dir, 'hsrc');
  const hmp = path.join(dir, 'holder');
  fs.mkdirSync(path.join(hsrc, 'data'), { recursive: true });
  fs.writeFileSync(path.join(hsrc, 'data', 'r.txt'), 'remote\n');
  const holder = await liveBindfs(t, hsrc, hmp);
  const mp = path.join(dir, 'mnt');
  const m = await liveBindfs(t, path.join(hmp, 'data'), mp);
  const by = bystander(t, mp);
  const config = `interval: 300ms\nobserve:\n  include: ["${mp}"]\nheal:\n  policy: on\n`;
  const a = await startWatchProc(t, config);
  await waitFor(
    () => a.db<{ n: number }>('SELECT COUNT(*) AS n FROM recipes WHERE mountpoint = ?', mp)[0]?.n === 1,
    20_000,
    'the recipe to be recorded',
  );
  process.kill(holder.daemonPid, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(holder.daemonPid, 'SIGCONT');
    } catch {
      // gone
    }
  });
  process.kill(m.daemonPid, 'SIGKILL');
  let remountPid = 0;
  await waitFor(
    () => {
      const j = a.db<{ phase: string }>('SELECT phase FROM watch_heal_journal WHERE mountpoint = ?', mp)[0];
      const others = bindfsFor(mp).filter((p) => p !== m.daemonPid);
      if (!j || !/^step:\d+:ok:unmount/.test(j.phase) || others.length === 0 || mountCount(mp) !== 0) return false;
      remountPid = others[0]!;
      return true;
    },
    30_000,
    'the heal to have unmounted and started its remount',
  );
  const journal = a.db<{ recipe: string }>('SELECT recipe FROM watch_heal_journal WHERE mountpoint = ?', mp)[0]!;
  const plan = JSON.parse(journal.recipe) as { version: number; plan: Array<{ action: string }> };
  assert.equal(plan.version, 3, 'the journal holds the whole plan');
  assert.ok(plan.plan.some((s) => s.action === 'remount'));
  a.proc.kill('SIGKILL');
  await a.exited;
  // The remount in flight dies with it, as it would with the host's session.
  try {
    process.kill(-remountPid, 'SIGKILL');
  } catch {
    process.kill(remountPid, 'SIGKILL');
  }
  await waitFor(() => !alive(remountPid), 5000, 'the interrupted remount to be gone');
  process.kill(holder.daemonPid, 'SIGCONT');
  assert.equal(mountCount(mp), 0, 'between the unmount and the remount: nothing at the mountpoint');

  const b = await startWatchProc(t, config, { dirs: a.dirs });
  await waitFor(async () => (await b.mount(mp))?.state === 'healthy', 60_000, 'the mount to be back');
  assert.equal(mountCount(mp), 1);
  assert.equal(fs.readFileSync(path.join(mp, 'r.txt'), 'utf8'), 'remote\n');
  const rec = b.db<{ result: string }>(
    "SELECT result FROM watch_heals WHERE action = 'recover-journal' AND mountpoint = ?",
    mp,
  );
  assert.deepEqual(
    rec.map((r) => r.result),
    ['remounted'],
  );
  assert.deepEqual(auditSteps(a.dirs.ENOTCONN_STATE_DIR, mp), ['watch:unmount:ok', 'recovery:remount:ok']);
  assert.equal(alive(by.pid!), true, 'the bystander naming the mountpoint is alive');
  await b.stop();
});

test('managed mount: kill -9 of watch and of its daemon: the next watch clears the dead mount and starts it once, a bystander lives', async (t) => {
  if (!requireBinary(t, 'sshfs')) return;
  const sshd = await liveSshd(t);
  const dir = tempDir(t, 'enc-trust-crashman-');
  const remote = path.join(dir, 'remote');
  fs.mkdirSync(remote);
  fs.writeFileSync(path.join(remote, 'data.txt'), 'managed\n');
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(mp);
  const argv = ['sshfs', '-f', ...sshfsOptions(sshd), `root@127.0.0.1:${remote}`, mp];
  const config = `interval: 500ms\nmanaged:\n  - name: remote\n    argv: ${JSON.stringify(argv)}\n    mountpoint: ${mp}\n`;
  const a = await startWatchProc(t, config);
  await waitFor(async () => (await a.mount(mp))?.state === 'healthy', 30_000, 'the managed mount to come up');
  const first = (await a.mount(mp))!.daemonPid!;
  const by = bystander(t, mp);
  a.proc.kill('SIGKILL');
  await a.exited;
  process.kill(first, 'SIGKILL');
  await waitFor(() => !alive(first), 5000, 'the daemon to die');
  assert.equal(mountCount(mp), 1, 'the dead mount is still there');
  const b = await startWatchProc(t, config, { dirs: a.dirs });
  await managedBack(b, mp, first);
  assert.equal(mountCount(mp), 1);
  assert.equal(fs.readFileSync(path.join(mp, 'data.txt'), 'utf8'), 'managed\n');
  const steps = auditSteps(a.dirs.ENOTCONN_STATE_DIR, mp);
  // First watch: one start. Second: one clear of the dead mount, one start.
  assert.deepEqual(steps, ['supervisor:remount:ok', 'supervisor:unmount-lazy:ok', 'supervisor:remount:ok']);
  assert.equal(alive(by.pid!), true, 'the bystander naming the mountpoint is alive');
  await b.stop();
});
