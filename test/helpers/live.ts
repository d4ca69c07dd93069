// Live-test harness: real sshd, real FUSE daemons, real mounts, all made and torn down by the tests.
// Every helper registers its cleanup with t.after(), so mounts and processes go away even when an
// assertion fails. Nothing is found or killed by name: only by the pids the harness started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { helperPath } from '../../src/host/probe-engine.js';
import { parseMountinfo, type MountInfo } from '../../src/mounts/mountinfo/parse.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO, 'dist/src/cli/main.js');

// Run this process's probe engine (NodeHost, ProbeRunner) as `engine` for the test's duration;
// false (the test skips, loudly) when the native helper was asked for and was not built.
export function useProbeEngine(t: TestContext, engine: 'native' | 'node'): boolean {
  if (engine === 'native' && helperPath(path.join(REPO, 'dist/src/host')) === null) {
    t.skip('SKIPPED: the native helper was not built (no C compiler)');
    return false;
  }
  const before = process.env.ENOTCONN_PROBE_ENGINE;
  process.env.ENOTCONN_PROBE_ENGINE = engine;
  t.after(() => {
    if (before === undefined) delete process.env.ENOTCONN_PROBE_ENGINE;
    else process.env.ENOTCONN_PROBE_ENGINE = before;
  });
  return true;
}

// Skip loudly (the reason shows in the summary) when a program is missing; the test command
// installs every package, so on this machine this only fires where apt-get could not.
export function requireBinary(t: TestContext, ...names: string[]): boolean {
  for (const name of names) {
    const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' });
    if (r.status !== 0) {
      t.skip(`SKIPPED: '${name}' is not installed (its Debian package could not be installed)`);
      return false;
    }
  }
  return true;
}

// Mountpoints in this process's mount table at or under `dir`, deepest first.
export function mountsUnder(dir: string): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'latin1');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const raw = line.split(' ')[4];
    if (raw === undefined) continue;
    const mp = Buffer.from(
      raw.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
      'latin1',
    ).toString('utf8');
    if (mp === dir || mp.startsWith(`${dir}/`)) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

// A fresh temporary directory, removed after the test. Whatever is still mounted inside is
// detached first (umount -l --no-canonicalize never touches the daemon), so removing the tree can
// never walk into a hung FUSE mount, whatever order the cleanup hooks run in.
export function tempDir(t: TestContext, prefix = 'enc-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => {
    for (let i = 0; i < 3; i++) {
      const left = mountsUnder(dir);
      if (left.length === 0) break;
      for (const mp of left) spawnSync('umount', ['-l', '--no-canonicalize', mp], { timeout: 5000 });
    }
    if (mountsUnder(dir).length > 0) return; // never recurse into a mount
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // left for the next boot; never fatal
    }
  });
  return dir;
}

// A TCP port free on 127.0.0.1 right now.
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// Poll `cond` every 20 ms until it is true or `ms` passes.
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms}ms waiting for ${what}`);
}

// True when `mountpoint` is in this process's mount table (compared after unescaping).
export function isMounted(mountpoint: string): boolean {
  const text = fs.readFileSync('/proc/self/mountinfo', 'latin1');
  const want = Buffer.from(mountpoint, 'utf8').toString('latin1');
  return text.split('\n').some((l) => {
    const mp = l.split(' ')[4];
    return (
      mp !== undefined && mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === want
    );
  });
}

// The mounts on exactly `mountpoint` in this process's table, bottom first.
export function mountsOn(mountpoint: string): MountInfo[] {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'latin1')).filter((m) => m.mountpoint === mountpoint);
}

// True once `pid` has exited (gone, or a zombie not reaped yet).
export function exited(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

// Unmount whatever is at `mountpoint` (lazily and without resolving the path, so it cannot hang).
export function forceUnmount(mountpoint: string): void {
  for (let i = 0; i < 5 && isMounted(mountpoint); i++) {
    spawnSync('umount', ['-l', '--no-canonicalize', mountpoint], { timeout: 5000 });
    if (isMounted(mountpoint)) spawnSync('fusermount3', ['-uz', mountpoint], { timeout: 5000 });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Resume (in case it was stopped) and kill a process we started, ignoring errors.
export function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

export interface LiveMount {
  mountpoint: string;
  daemonPid: number;
  daemon: ChildProcess;
  argv: string[];
}

// Start a FUSE daemon in the foreground from argv and wait until its mount appears.
export async function startFuseDaemon(
  t: TestContext,
  argv: string[],
  mountpoint: string,
  opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<LiveMount> {
  fs.mkdirSync(mountpoint, { recursive: true });
  const daemon = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
  });
  let stderr = '';
  daemon.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  daemon.unref();
  t.after(() => {
    if (daemon.pid !== undefined) killHard(daemon.pid);
    forceUnmount(mountpoint);
  });
  try {
    await waitFor(() => isMounted(mountpoint), 15000, `${argv[0]} to mount ${mountpoint}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}; daemon stderr: ${stderr.slice(-500)}`);
  }
  return { mountpoint, daemonPid: daemon.pid!, daemon, argv };
}

// A bindfs mount of `src` at `mountpoint` (foreground, -f), torn down after the test.
export async function liveBindfs(t: TestContext, src: string, mountpoint: string): Promise<LiveMount> {
  return startFuseDaemon(t, ['bindfs', '-f', src, mountpoint], mountpoint);
}

// An rclone mount of a local directory (foreground), torn down after the test.
export async function liveRclone(
  t: TestContext,
  src: string,
  mountpoint: string,
  extra: string[] = [],
): Promise<LiveMount> {
  const cfg = path.join(path.dirname(mountpoint), `rclone-${path.basename(mountpoint)}.conf`);
  fs.writeFileSync(cfg, '');
  return startFuseDaemon(t, ['rclone', 'mount', '--config', cfg, src, mountpoint, ...extra], mountpoint);
}

export interface Sshd {
  port: number;
  pid: number;
  clientKey: string;
  dir: string;
  proc: ChildProcess;
  stop(): void;
}

// A real sshd on 127.0.0.1 with a generated host key and client key, serving sftp for root.
export async function liveSshd(t: TestContext, opts: { authorizedUser?: string } = {}): Promise<Sshd> {
  const dir = tempDir(t, 'enc-sshd-');
  const port = await freePort();
  fs.mkdirSync('/run/sshd', { recursive: true });
  for (const k of ['host_key', 'client_key']) {
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, k)]);
  }
  fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
  fs.chmodSync(path.join(dir, 'authorized_keys'), 0o644);
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      `PidFile ${dir}/sshd.pid`,
      'Subsystem sftp internal-sftp',
      ...(opts.authorizedUser ? [`AllowUsers root ${opts.authorizedUser}`] : []),
      '',
    ].join('\n'),
  );
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  proc.unref();
  proc.stderr?.resume();
  const stop = (): void => {
    if (proc.pid !== undefined && alive(proc.pid)) killHard(proc.pid);
  };
  t.after(stop);
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10000,
    'sshd to listen',
  );
  return { port, pid: proc.pid!, clientKey: path.join(dir, 'client_key'), dir, proc, stop };
}

// Options that make sshfs talk to the harness sshd without prompts.
export function sshfsOptions(sshd: Sshd, extra: string[] = []): string[] {
  return [
    '-p',
    String(sshd.port),
    '-o',
    [
      `IdentityFile=${sshd.clientKey}`,
      'StrictHostKeyChecking=no',
      'UserKnownHostsFile=/dev/null',
      'LogLevel=ERROR',
      'BatchMode=yes',
      ...extra,
    ].join(','),
  ];
}

// An sshfs mount of `remoteDir` on the harness sshd (foreground, -f), torn down after the test.
export async function liveSshfs(
  t: TestContext,
  sshd: Sshd,
  remoteDir: string,
  mountpoint: string,
  extra: string[] = [],
): Promise<LiveMount> {
  return startFuseDaemon(
    t,
    ['sshfs', '-f', ...sshfsOptions(sshd, extra), `root@127.0.0.1:${remoteDir}`, mountpoint],
    mountpoint,
  );
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

// Run the built CLI with argv; never through a shell. The run dir is per-test unless given.
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string; uid?: number; gid?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
    child.stdin.end(opts.input ?? '');
  });
}

// A run dir and state dir private to one test, so tests never see each other's stuck probes.
export function privateDirs(t: TestContext): { ENOTCONN_RUN_DIR: string; ENOTCONN_STATE_DIR: string } {
  const d = tempDir(t, 'enc-state-');
  return { ENOTCONN_RUN_DIR: path.join(d, 'run'), ENOTCONN_STATE_DIR: path.join(d, 'state') };
}

// A non-root user for ownership tests, created once if missing. Returns uid and gid.
export function ensureTestUser(name = 'enctest'): { uid: number; gid: number; name: string; home: string } {
  let r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('useradd', ['-m', '-s', '/bin/sh', name], { encoding: 'utf8' });
    r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  }
  const uid = Number(r.stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid, name, home: `/home/${name}` };
}

// The built native helper, fed request lines by hand; its reply lines so far. Killed after the test.
export function helperProcess(t: TestContext): { send: (line: string) => void; lines: string[] } {
  const child = spawn(helperPath(path.join(REPO, 'dist/src/host'))!, [], { stdio: ['pipe', 'pipe', 'ignore'] });
  t.after(() => child.kill('SIGKILL'));
  const lines: string[] = [];
  let tail = '';
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (s: string) => {
    const parts = (tail + s).split('\n');
    tail = parts.pop()!;
    lines.push(...parts);
  });
  return { send: (line) => child.stdin.write(`${line}\n`), lines };
}
