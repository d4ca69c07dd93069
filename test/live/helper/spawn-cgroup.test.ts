// Live: a remount command started by the native helper (request X) is born in the daemon's cgroup
// (clone3 CLONE_INTO_CGROUP), with exactly what Node's spawn would give it (own session, cwd /, the
// fixed environment, stdin /dev/null, output to the file, no other fd, no ignored or blocked
// signal), its argv passed byte for byte with no shell; at its deadline its whole process group
// is killed; a program that cannot run is reported, and a cgroup that cannot take it starts nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { NodeHost } from '../../../src/host/node-host.js';
import { cgroupOf, testCgroup } from '../watch/watch-harness.js';
import { tempDir, useProbeEngine, waitFor } from '../../helpers/live.js';

function setup(t: TestContext): { host: NodeHost; cgroup: string; rel: string; dir: string } | null {
  if (!useProbeEngine(t, 'native')) return null;
  const cg = testCgroup(t);
  if (!cg) {
    t.skip('SKIPPED: no writable cgroup v2 hierarchy');
    return null;
  }
  const host = new NodeHost();
  t.after(() => host.close());
  const rel = cg.watch.slice(cg.watch.indexOf('/enc-watchsvc-')); // as /proc/<pid>/cgroup names it
  return { host, cgroup: cg.watch, rel, dir: tempDir(t, 'enc-spawncg-') };
}

function procsIn(cgroup: string): number[] {
  return fs.readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

test('born in the cgroup with its own session, cwd /, the fixed environment and only fds 0-2', async (t) => {
  const s = setup(t);
  if (!s) return;
  const out = path.join(s.dir, 'out.log');
  const run = s.host.execInCgroup(['sleep', '30'], s.cgroup, {
    timeoutMs: 20_000,
    outputFile: out,
    env: { HOME: '/root' },
  });
  await waitFor(() => procsIn(s.cgroup).length === 1, 5000, 'the program in its cgroup');
  const pid = procsIn(s.cgroup)[0]!;
  assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), '/usr/bin/sleep');
  assert.ok(cgroupOf(pid)!.endsWith(s.rel), `in ${cgroupOf(pid)}`);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  assert.equal(Number(f[3]), pid, 'its own session (sid = pid)');
  assert.equal(Number(f[2]), pid, 'its own process group');
  assert.equal(fs.readlinkSync(`/proc/${pid}/cwd`), '/');
  assert.deepEqual(fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).sort(), [
    'HOME=/root',
    'LANG=C',
    'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
  ]);
  const fds = fs.readdirSync(`/proc/${pid}/fd`).sort();
  assert.deepEqual(fds, ['0', '1', '2']);
  assert.deepEqual(
    fds.map((n) => fs.readlinkSync(`/proc/${pid}/fd/${n}`)),
    ['/dev/null', out, out],
  );
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, /^SigBlk:\s+0+$/m);
  assert.match(status, /^SigIgn:\s+0+$/m);
  process.kill(pid, 'SIGTERM');
  const r = (await run)!;
  assert.deepEqual([r.code, r.signal, r.timedOut, r.spawnError], [null, 'SIGTERM', false, null]);
});

test('argv byte for byte with no shell, the exit code, and the output from the file', async (t) => {
  const s = setup(t);
  if (!s) return;
  const marker = path.join(s.dir, 'marker');
  const args = ['a b', `$(touch ${marker})`, "it's\nnew", 'é;|&'];
  const out = path.join(s.dir, 'out.log');
  fs.writeFileSync(out, 'earlier\n');
  const r = (await s.host.execInCgroup(['printf', '%s|', ...args], s.cgroup, { timeoutMs: 10_000, outputFile: out }))!;
  assert.deepEqual([r.code, r.signal, r.timedOut, r.spawnError], [0, null, false, null]);
  assert.equal(r.stderr, `${args.join('|')}|`, 'only what this command appended');
  assert.equal(fs.existsSync(marker), false, 'no shell ran');
  const bad = (await s.host.execInCgroup(['false'], s.cgroup, { timeoutMs: 10_000 }))!;
  assert.equal(bad.code, 1);
});

test('at the deadline its whole process group is killed and it says timed out', async (t) => {
  const s = setup(t);
  if (!s) return;
  const r = (await s.host.execInCgroup(['sh', '-c', 'sleep 30 & sleep 30'], s.cgroup, { timeoutMs: 400 }))!;
  assert.deepEqual([r.timedOut, r.signal], [true, 'SIGKILL']);
  await waitFor(() => procsIn(s.cgroup).length === 0, 5000, 'the group to be gone');
});

test('a program that cannot be executed is reported; a cgroup that cannot take it starts nothing', async (t) => {
  const s = setup(t);
  if (!s) return;
  const none = (await s.host.execInCgroup(['/nonexistent/daemon'], s.cgroup, { timeoutMs: 5000 }))!;
  assert.deepEqual([none.code, none.spawnError], [null, 'ENOENT']);
  const marker = path.join(s.dir, 'ran');
  const r = await s.host.execInCgroup(['touch', marker], path.join(s.cgroup, 'missing'), { timeoutMs: 5000 });
  assert.equal(r, null, 'no cgroup: the caller falls back');
  assert.equal(fs.existsSync(marker), false, 'and nothing ran');
});
