// Live tests for `enotconn diagnose` on real FUSE mounts made by each test (issue 3).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Diagnosis } from '../../../src/mounts/diagnosis.js';
import {
  killHard,
  liveBindfs,
  liveRclone,
  liveSshd,
  liveSshfs,
  privateDirs,
  requireBinary,
  runCli,
  tempDir,
  waitFor,
} from '../../helpers/live.js';

function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// Run `enotconn diagnose <mp> --json` and parse it.
async function diagnoseCli(mp: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; d: Diagnosis }> {
  const r = await runCli(['diagnose', mp, '--json'], { env });
  assert.equal(r.stderr, '', `diagnose wrote to stderr: ${r.stderr}`);
  return { code: r.code, d: JSON.parse(r.stdout) as Diagnosis };
}

// A long-running child we started, killed after the test.
function startChild(t: TestContext, argv: string[], opts: Parameters<typeof spawn>[2] = {}): ChildProcess {
  const c = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true, ...opts });
  t.after(() => {
    if (c.pid !== undefined) killHard(c.pid);
  });
  return c;
}

// Every descendant of `pid` (children first found through /proc/<n>/stat's ppid field).
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const st = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
      parentOf.set(Number(n), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parentOf) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

test('a killed sshfs daemon is reported dead with cause daemon-gone and its recorded argv', async (t) => {
  if (!requireBinary(t, 'sshfs', '/usr/sbin/sshd')) return;
  const sshd = await liveSshd(t);
  const remote = tempDir(t);
  const mp = path.join(tempDir(t), 'remote');
  const m = await liveSshfs(t, sshd, remote, mp);
  const env = privateDirs(t);
  // diagnose only reads: the recipe is recorded by an explicit scan of the healthy mount.
  const before = await diagnoseCli(mp, env);
  assert.equal(before.d.state, 'healthy');
  assert.equal(before.code, 0);
  assert.equal(before.d.daemon?.pid, m.daemonPid);
  assert.equal((await runCli(['scan', '--json', path.dirname(mp)], { env })).code, 0);

  process.kill(m.daemonPid, 'SIGKILL');
  await waitFor(() => !alive(m.daemonPid), 5000, 'sshfs to die');
  const { code, d } = await diagnoseCli(mp, env);
  assert.equal(code, 1);
  assert.equal(d.state, 'dead');
  assert.equal(d.mount.errno, 'ENOTCONN');
  assert.equal(d.causes[0]?.id, 'daemon-gone');
  assert.equal(d.daemon?.pid, null);
  assert.equal(d.daemon?.source, 'recipe');
  assert.deepEqual(d.daemon?.argv, m.argv);
  assert.ok(d.causes[0]?.evidence.some((e) => e.source === 'recipe' && e.detail.includes(m.argv.join(' '))));
  assert.ok(d.options.some((o) => o.id === 'sshfs-no-reconnect'));
});

test('an rclone daemon OOM-killed in a memory cgroup is reported as daemon-oom-killed citing the kernel line', async (t) => {
  if (!requireBinary(t, 'rclone')) return;
  const cg = `/sys/fs/cgroup/memory/enc${process.pid}oom`;
  if (!fs.existsSync('/sys/fs/cgroup/memory')) {
    t.skip('SKIPPED: the cgroup v1 memory controller is not mounted at /sys/fs/cgroup/memory');
    return;
  }
  const base = tempDir(t);
  const src = path.join(base, 'src');
  fs.mkdirSync(src);
  // A sparse 400 MB file: rclone's 512 MB read-ahead buffer fills far beyond the 40 MB limit.
  fs.writeFileSync(path.join(src, 'big'), '');
  fs.truncateSync(path.join(src, 'big'), 400 * 1024 * 1024);
  const mp = path.join(base, 'mnt');
  const m = await liveRclone(t, src, mp, ['--buffer-size', '512M']);
  const env = privateDirs(t);
  const before = await diagnoseCli(mp, env);
  assert.equal(before.d.state, 'healthy');
  assert.equal((await runCli(['scan', '--json', path.dirname(mp)], { env })).code, 0);

  fs.mkdirSync(cg);
  t.after(async () => {
    killHard(m.daemonPid);
    for (let i = 0; i < 50; i++) {
      try {
        fs.rmdirSync(cg);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  fs.writeFileSync(path.join(cg, 'memory.limit_in_bytes'), '40M');
  fs.writeFileSync(path.join(cg, 'cgroup.procs'), String(m.daemonPid));
  // Read through the mount in a child (it fails once rclone is killed); never from this process.
  spawnSync('dd', [`if=${path.join(mp, 'big')}`, 'of=/dev/null', 'bs=1M'], { timeout: 120000 });
  await waitFor(() => !alive(m.daemonPid), 30000, 'the OOM killer to kill rclone');

  const { code, d } = await diagnoseCli(mp, env);
  assert.equal(code, 1);
  assert.equal(d.state, 'dead');
  assert.equal(d.causes[0]?.id, 'daemon-oom-killed');
  const kmsg = d.causes[0]?.evidence.find((e) => e.source === 'kmsg');
  assert.match(kmsg?.detail ?? '', new RegExp(`Killed process ${m.daemonPid} \\(rclone\\)`));
  assert.ok(kmsg?.at !== undefined && !Number.isNaN(Date.parse(kmsg.at)));
  assert.match(
    d.causes[0]?.summary ?? '',
    new RegExp(`rclone \\(pid ${m.daemonPid}\\) was killed by the OOM killer at \\d\\d:\\d\\d:\\d\\d`),
  );
  assert.deepEqual(d.daemon?.argv, m.argv);
});

test('a SIGSTOPped daemon makes the mount hung with cause daemon-stopped', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  // tempDir detaches the (hung) mount before removing the tree, so its cleanup never blocks.
  const base = tempDir(t, 'enc-stop-');
  fs.mkdirSync(path.join(base, 'src'));
  const mp = path.join(base, 'mnt');
  const m = await liveBindfs(t, path.join(base, 'src'), mp);
  process.kill(m.daemonPid, 'SIGSTOP');
  const { code, d } = await diagnoseCli(mp, privateDirs(t));
  assert.equal(code, 1);
  assert.equal(d.state, 'hung');
  assert.equal(d.causes[0]?.id, 'daemon-stopped');
  assert.equal(d.daemon?.pid, m.daemonPid);
  assert.equal(d.daemon?.state, 'T');
  assert.ok((d.fuse?.waiting ?? 0) >= 1, `the stuck probe waits on the connection: ${JSON.stringify(d.fuse)}`);
});

test('sshfs whose sshd is killed (session frozen) gets cause backend-unreachable naming 127.0.0.1:<port>', async (t) => {
  if (!requireBinary(t, 'sshfs', '/usr/sbin/sshd')) return;
  const sshd = await liveSshd(t);
  const remote = tempDir(t);
  const base = tempDir(t, 'enc-sshd-gone-');
  const mp = path.join(base, 'remote');
  const m = await liveSshfs(t, sshd, remote, mp);
  const env = privateDirs(t);
  assert.equal((await diagnoseCli(mp, env)).d.state, 'healthy');
  // The server goes away without a goodbye: its per-connection process (sshd-session) freezes, so
  // the open connection stalls, and the listener is killed, so new connections are refused.
  // (A clean exit would make sshfs exit and unmount itself, leaving nothing to diagnose.)
  const sessions = descendants(sshd.pid);
  assert.ok(sessions.length > 0, 'sshd has a session process for the sshfs connection');
  // A short-lived child of sshd may be gone by now; the session process is what must be stopped.
  const stopped = sessions.filter((pid) => {
    try {
      process.kill(pid, 'SIGSTOP');
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw e;
    }
  });
  assert.ok(stopped.length > 0, 'at least one sshd session process was stopped');
  killHard(sshd.pid);
  t.after(() => {
    for (const pid of sessions) killHard(pid);
    killHard(m.daemonPid);
  });
  const { code, d } = await diagnoseCli(mp, env);
  assert.equal(code, 1);
  assert.equal(d.state, 'hung');
  assert.equal(d.causes[0]?.id, 'backend-unreachable');
  assert.match(d.causes[0]?.summary ?? '', new RegExp(`127\\.0\\.0\\.1:${sshd.port} refused`));
  assert.deepEqual(
    d.endpoint?.checks.map((c) => [c.host, c.port, c.result]),
    [['127.0.0.1', sshd.port, 'refused']],
  );
  assert.equal(d.daemon?.pid, m.daemonPid);
  assert.ok(d.causes.some((c) => c.id === 'daemon-hung'));
});

test('processes with a cwd and an open file in a dead mount give cause mount-busy with both pids', async (t) => {
  if (!requireBinary(t, 'bindfs')) return;
  const base = tempDir(t);
  fs.mkdirSync(path.join(base, 'src'));
  fs.writeFileSync(path.join(base, 'src', 'file.txt'), 'hello\n');
  const mp = path.join(base, 'mnt');
  const m = await liveBindfs(t, path.join(base, 'src'), mp);
  const inCwd = startChild(t, ['sleep', '300'], { cwd: mp });
  const fd = fs.openSync(path.join(mp, 'file.txt'), 'r');
  const withFile = startChild(t, ['sleep', '300'], { stdio: [fd, 'ignore', 'ignore'] });
  fs.closeSync(fd);
  await waitFor(() => alive(inCwd.pid!) && alive(withFile.pid!), 5000, 'the holders to start');
  process.kill(m.daemonPid, 'SIGKILL');
  await waitFor(() => !alive(m.daemonPid), 5000, 'bindfs to die');

  const { code, d } = await diagnoseCli(mp, privateDirs(t));
  assert.equal(code, 1);
  assert.equal(d.state, 'dead');
  const busy = d.causes.find((c) => c.id === 'mount-busy');
  assert.ok(busy, `mount-busy among ${d.causes.map((c) => c.id).join(', ')}`);
  assert.match(busy.summary, new RegExp(`${inCwd.pid} sleep`));
  assert.match(busy.summary, new RegExp(`${withFile.pid} sleep`));
  const byPid = new Map(d.holders.map((h) => [h.pid, h]));
  assert.deepEqual(byPid.get(inCwd.pid!)?.how, ['cwd']);
  assert.deepEqual(byPid.get(inCwd.pid!)?.paths, [mp]);
  assert.deepEqual(byPid.get(withFile.pid!)?.how, ['fd']);
  assert.deepEqual(byPid.get(withFile.pid!)?.paths, [path.join(mp, 'file.txt')]);
  assert.equal(byPid.get(inCwd.pid!)?.user, 'root');
});

test('a process in its own mount namespace that still sees the mount is listed', async (t) => {
  if (!requireBinary(t, 'bindfs', 'unshare')) return;
  const base = tempDir(t);
  fs.mkdirSync(path.join(base, 'src'));
  const mp = path.join(base, 'mnt');
  await liveBindfs(t, path.join(base, 'src'), mp);
  const ours = fs.readlinkSync('/proc/self/ns/mnt');
  const child = startChild(t, ['unshare', '-m', '--propagation', 'private', 'sleep', '300']);
  await waitFor(
    () => {
      try {
        return fs.readlinkSync(`/proc/${child.pid}/ns/mnt`) !== ours;
      } catch {
        return false;
      }
    },
    5000,
    'unshare to enter its namespace',
  );
  const { code, d } = await diagnoseCli(mp, privateDirs(t));
  assert.equal(d.state, 'healthy');
  assert.equal(code, 0);
  const view = d.namespaces.find((n) => n.pids.includes(child.pid!));
  assert.ok(view, `namespaces: ${JSON.stringify(d.namespaces)}`);
  assert.equal(view.mntns, fs.readlinkSync(`/proc/${child.pid}/ns/mnt`));
  assert.equal(view.mountpoint, mp);
  assert.equal(view.comm, 'sleep');
});

test('a path not under a network or FUSE mount exits 2 with a one-line message', async (t) => {
  const r = await runCli(['diagnose', '/etc'], { env: privateDirs(t) });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^enotconn: \/etc is not under a network or FUSE mount \(it lies on \/ \([\w.]+\)\); run 'enotconn scan' to list those mounts\n$/,
  );
});
