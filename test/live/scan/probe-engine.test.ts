// Live: what the probe engine reports on real FUSE connections, with the native helper and with
// the Node probe child (ENOTCONN_PROBE_ENGINE): every errno DESIGN §1 names, answered by a real
// libfuse3 daemon built from test/helpers/errfs.c; a dead mount of another user, judged by root;
// and one probe per mount across concurrent scan, diagnose and heal on a hung connection.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { helperPath } from '../../../src/host/probe-engine.js';
import type { MountReport, ScanReport } from '../../../src/mounts/scan.js';
import {
  REPO,
  ensureTestUser,
  liveBindfs,
  privateDirs,
  requireBinary,
  runCli,
  startFuseDaemon,
  tempDir,
  waitFor,
} from '../../helpers/live.js';

const ENGINES = ['native', 'node'] as const;
type Engine = (typeof ENGINES)[number];

// False (and the test skipped, loudly) when the native helper was not built on this machine.
function engineReady(t: TestContext, engine: Engine): boolean {
  if (engine === 'native' && helperPath(path.join(REPO, 'dist/src/host')) === null) {
    t.skip('SKIPPED: the native helper was not built (no C compiler); the Node engine is tested alone');
    return false;
  }
  return true;
}

function find(report: ScanReport, mountpoint: string): MountReport {
  const m = report.mounts.find((x) => x.mountpoint === mountpoint);
  assert.ok(m, `scan did not report ${mountpoint}; it saw ${report.mounts.map((x) => x.mountpoint).join(', ')}`);
  return m;
}

// Build errfs once per test run, against libfuse3 (pkg-config), into a temp dir.
let errfsBin: string | null = null;
function buildErrfs(t: TestContext): string | null {
  if (errfsBin && fs.existsSync(errfsBin)) return errfsBin;
  if (!requireBinary(t, 'cc', 'pkg-config', 'fusermount3')) return null;
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'fuse3'], { encoding: 'utf8' });
  if (flags.status !== 0) {
    t.skip('SKIPPED: libfuse3-dev is not installed (pkg-config fuse3 failed)');
    return null;
  }
  const out = path.join(fs.mkdtempSync('/tmp/enc-errfs-bin-'), 'errfs');
  const cc = spawnSync(
    'cc',
    ['-O2', '-Wall', '-o', out, path.join(REPO, 'test/helpers/errfs.c'), ...flags.stdout.trim().split(/\s+/)],
    { encoding: 'utf8' },
  );
  assert.equal(cc.status, 0, `errfs did not build: ${cc.stderr}`);
  errfsBin = out;
  return out;
}

// errno numbers (asm-generic/errno*.h): what the daemon answers, and what scan must report.
const CASES = [
  { name: 'healthy', errno: 0, where: 'statfs', state: 'healthy', errnoName: undefined, syscall: undefined },
  { name: 'eio', errno: 5, where: 'statfs', state: 'io-error', errnoName: 'EIO', syscall: 'statfs' },
  { name: 'estale', errno: 116, where: 'statfs', state: 'stale', errnoName: 'ESTALE', syscall: 'statfs' },
  { name: 'estale-lookup', errno: 116, where: 'lookup', state: 'stale', errnoName: 'ESTALE', syscall: 'lstat' },
  { name: 'eacces', errno: 13, where: 'statfs', state: 'denied', errnoName: 'EACCES', syscall: 'statfs' },
  { name: 'eperm', errno: 1, where: 'lookup', state: 'denied', errnoName: 'EPERM', syscall: 'lstat' },
  { name: 'enotconn', errno: 107, where: 'statfs', state: 'dead', errnoName: 'ENOTCONN', syscall: 'statfs' },
  { name: 'econnaborted', errno: 103, where: 'lookup', state: 'dead', errnoName: 'ECONNABORTED', syscall: 'lstat' },
  { name: 'ehostdown', errno: 112, where: 'statfs', state: 'unknown', errnoName: 'EHOSTDOWN', syscall: 'statfs' },
] as const;

for (const engine of ENGINES) {
  test(`${engine} engine: a live FUSE daemon answering each errno is reported in its DESIGN state`, async (t) => {
    if (!engineReady(t, engine)) return;
    const bin = buildErrfs(t);
    if (bin === null) return;
    const dir = tempDir(t, 'enc-perf-errfs-');
    for (const c of CASES) {
      await startFuseDaemon(t, [bin, String(c.errno), c.where, path.join(dir, c.name)], path.join(dir, c.name));
    }
    const r = await runCli(['scan', '--json', '--timeout', '2s', dir], {
      env: { ...privateDirs(t), ENOTCONN_PROBE_ENGINE: engine },
    });
    assert.equal(r.stderr, '');
    const report = JSON.parse(r.stdout) as ScanReport;
    for (const c of CASES) {
      const m = find(report, path.join(dir, c.name));
      assert.deepEqual(
        { state: m.state, errno: m.errno, syscall: m.syscall, fstype: m.fstype },
        { state: c.state, errno: c.errnoName, syscall: c.syscall, fstype: 'fuse.errfs' },
        `mount ${c.name} (daemon answers ${c.errno} on ${c.where})`,
      );
    }
    assert.equal(r.code, 1, 'dead, stale, io-error and unknown mounts are problems');
  });

  test(`${engine} engine: root's scan probes a user's FUSE mount without allow_other as its owner; killed, it is dead, exit 1`, async (t) => {
    if (!engineReady(t, engine)) return;
    if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
    const user = ensureTestUser();
    // This machine creates /dev/fuse 0600; Debian's default is 0666, which a user mount needs.
    const fuseMode = fs.statSync('/dev/fuse').mode & 0o777;
    if (fuseMode !== 0o666) {
      fs.chmodSync('/dev/fuse', 0o666);
      t.after(() => fs.chmodSync('/dev/fuse', fuseMode));
    }
    const dir = tempDir(t, 'enc-perf-user-');
    fs.chmodSync(dir, 0o755);
    const src = path.join(dir, 'src');
    const mp = path.join(dir, 'mnt');
    fs.mkdirSync(src);
    fs.mkdirSync(mp);
    fs.chownSync(src, user.uid, user.gid);
    fs.chownSync(mp, user.uid, user.gid);
    const mount = await startFuseDaemon(t, ['/usr/bin/bindfs', '-f', '--no-allow-other', src, mp], mp, {
      uid: user.uid,
      gid: user.gid,
      env: { PATH: '/usr/bin:/bin', HOME: user.home },
    });
    const env = { ...privateDirs(t), ENOTCONN_PROBE_ENGINE: engine };
    let r = await runCli(['scan', '--json', '--timeout', '2s', dir], { env });
    let m = find(JSON.parse(r.stdout) as ScanReport, mp);
    assert.equal(m.ownerUid, user.uid);
    assert.deepEqual([m.state, m.errno, r.code], ['healthy', undefined, 0], 'judged as its owner, it is healthy');

    process.kill(mount.daemonPid, 'SIGKILL');
    await waitFor(() => !fs.existsSync(`/proc/${mount.daemonPid}/stat`), 5000, 'the daemon to die');
    r = await runCli(['scan', '--json', '--timeout', '2s', dir], { env });
    m = find(JSON.parse(r.stdout) as ScanReport, mp);
    assert.deepEqual([m.state, m.errno, m.note], ['dead', 'ENOTCONN', undefined]);
    assert.equal(r.code, 1, "root's scan fails on a dead user mount");
    const npd = await runCli(['scan', '--npd', '--timeout', '2s', dir], { env });
    assert.equal(npd.code, 1, 'node-problem-detector mode sees the outage too');
  });

  test(`${engine} engine: concurrent scan, diagnose and heal on a hung mount leave one waiting request`, async (t) => {
    if (!engineReady(t, engine)) return;
    if (!requireBinary(t, 'bindfs', 'fusermount3')) return;
    const dir = tempDir(t, 'enc-perf-hung-');
    fs.mkdirSync(path.join(dir, 'src'));
    const mount = await liveBindfs(t, path.join(dir, 'src'), path.join(dir, 'mnt'));
    const minor = fs
      .readFileSync('/proc/self/mountinfo', 'latin1')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[4] === mount.mountpoint)![2]!
      .split(':')[1]!;
    const waiting = (): number => Number(fs.readFileSync(`/sys/fs/fuse/connections/${minor}/waiting`, 'latin1'));
    assert.equal(waiting(), 0);
    process.kill(mount.daemonPid, 'SIGSTOP');
    t.after(() => {
      try {
        process.kill(mount.daemonPid, 'SIGCONT');
      } catch {
        // gone
      }
    });
    const env = { ...privateDirs(t), ENOTCONN_PROBE_ENGINE: engine };
    const [scan, diag, heal] = await Promise.all([
      runCli(['scan', '--json', '--timeout', '1s', dir], { env }),
      runCli(['diagnose', '--json', '--timeout', '1s', mount.mountpoint], { env }),
      runCli(['heal', '--dry-run', '--json', '--timeout', '1s', mount.mountpoint], { env }),
    ]);
    assert.equal(find(JSON.parse(scan.stdout) as ScanReport, mount.mountpoint).state, 'hung');
    assert.equal((JSON.parse(diag.stdout) as { state: string }).state, 'hung');
    assert.notEqual(heal.code, null, 'heal finished');
    assert.equal(waiting(), 1, 'exactly one probe waits on the hung connection');

    // And the one probe returns when the daemon resumes: nothing is left waiting.
    process.kill(mount.daemonPid, 'SIGCONT');
    await waitFor(() => waiting() === 0, 5000, 'the stuck probe to return');
  });
}
