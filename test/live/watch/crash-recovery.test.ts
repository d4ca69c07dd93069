// Live: kill -9 of watch in the middle of a heal, then a restart: the heal is finished or rolled
// back and the mountpoint ends with one mount, not two (issue 4, "Tests (live)").
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { liveSshd, liveSshfs, requireBinary, tempDir, waitFor } from '../../helpers/live.js';
import { mountCount, startWatchProc } from './watch-harness.js';

// Pids of sshfs processes whose argv names `mp`, read from /proc (read only).
function sshfsFor(mp: string): number[] {
  const out: number[] = [];
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('sshfs') && argv.includes(mp)) out.push(Number(n));
    } catch {
      // gone
    }
  }
  return out;
}

test('kill -9 of watch mid-heal, then a restart: the heal is finished and there is one mount, not two', async (t) => {
  if (!requireBinary(t, 'sshfs', 'fusermount3')) return;
  const sshd = await liveSshd(t);
  const dir = tempDir(t, 'enc-watch-kill-');
  const remote = path.join(dir, 'remote');
  fs.mkdirSync(remote);
  fs.writeFileSync(path.join(remote, 'r.txt'), 'remote\n');
  // An ssh that connects slowly while the flag file exists: it holds the heal's remount open long
  // enough to kill watch in the middle of it.
  const flag = path.join(dir, 'slow');
  const wrapper = path.join(dir, 'slow-ssh');
  fs.writeFileSync(wrapper, `#!/bin/sh\n[ -e ${flag} ] && sleep 4\nexec ssh "$@"\n`, { mode: 0o755 });
  const mp = path.join(dir, 'mnt');
  const m = await liveSshfs(t, sshd, remote, mp, ['reconnect', `ssh_command=${wrapper}`]);
  const config = `interval: 500ms\nobserve:\n  include: ["${dir}/**"]\nheal:\n  policy: on\n`;
  const a = await startWatchProc(t, config);
  await waitFor(
    () => a.db<{ n: number }>('SELECT COUNT(*) AS n FROM recipes WHERE mountpoint = ?', mp)[0]?.n === 1,
    20_000,
    'the recipe to be recorded',
  );
  fs.writeFileSync(flag, '');
  process.kill(m.daemonPid, 'SIGKILL');
  // Mid-heal: the heal is journaled and its remount (a new sshfs naming the mountpoint) is running.
  await waitFor(
    () =>
      a.db<{ n: number }>('SELECT COUNT(*) AS n FROM watch_heal_journal WHERE mountpoint = ?', mp)[0]?.n === 1 &&
      sshfsFor(mp).some((p) => p !== m.daemonPid),
    30_000,
    'the heal to reach its remount',
  );
  a.proc.kill('SIGKILL');
  const dead = await a.exited;
  assert.equal(dead.signal, 'SIGKILL');
  assert.equal(
    a.db<{ n: number }>('SELECT COUNT(*) AS n FROM watch_heal_journal')[0]!.n,
    1,
    'the journal outlived the kill',
  );

  const b = await startWatchProc(t, config, { dirs: a.dirs });
  await waitFor(
    async () => (await b.mount(mp))?.state === 'healthy',
    60_000,
    'the mount to be healthy after the restart',
  );
  assert.equal(mountCount(mp), 1, 'exactly one mount at the mountpoint');
  assert.equal(fs.readFileSync(path.join(mp, 'r.txt'), 'utf8'), 'remote\n');
  assert.equal(
    b.db<{ n: number }>('SELECT COUNT(*) AS n FROM watch_heal_journal')[0]!.n,
    0,
    'the journal entry was settled',
  );
  const rec = b.db<{ result: string }>(
    "SELECT result FROM watch_heals WHERE action = 'recover-journal' AND mountpoint = ?",
    mp,
  );
  assert.equal(rec.length, 1);
  assert.equal(
    rec[0]!.result,
    'finished',
    b
      .logs()
      .split('\n')
      .filter((l) => /interrupted|waiting/.test(l))
      .join('\n'),
  );
  fs.rmSync(flag, { force: true });
  // Still one mount a few cycles later: nothing stacks a second one.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(mountCount(mp), 1);
  assert.equal((await b.mount(mp))?.state, 'healthy');
});
