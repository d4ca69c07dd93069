// Launching a long-lived FUSE daemon (a remount's, or a supervised managed mount's) so that it
// outlives watch: stopping, restarting or crashing watch must never take the mounts it healed.
// - Under systemd, each daemon is its own transient unit (`systemd-run --unit=enotconn-mount-<path>`),
//   so `systemctl restart enotconn-watch` never touches it (systemd.kill(5): only the unit's own
//   cgroup is killed).
// - Elsewhere, in its own process session (setsid) and its own cgroup, a sibling of watch's, so that
//   killing watch's cgroup (cgroup.kill, a container runtime, a test) leaves it alone.
// Every launch returns the exact argv and cgroup writes it did, so reports and --dry-run show them.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execArgv } from './exec.js';
import type { ExecResult, Host, SpawnedProcess } from './types.js';

export const SYSTEMD_RUN = '/usr/bin/systemd-run';
export const SYSTEMCTL = '/usr/bin/systemctl';
export const SETPRIV = '/usr/bin/setpriv';
// Root-owned directories a daemon's program is resolved in (DESIGN section 7), in PATH order.
const PROGRAM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

// Where and how this process can place a daemon.
export interface LaunchContext {
  systemd: boolean;
  // The cgroup v2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host), or null.
  cgroupRoot: string | null;
  // This process's cgroup v2 path ("0::<path>" in /proc/self/cgroup), or null.
  ownCgroup: string | null;
  pid: number;
}

export type LaunchKind = 'remount' | 'supervised';

export interface LaunchRequest {
  kind: LaunchKind;
  mountpoint: string;
  // The command; for a remount already wrapped in setpriv when it runs as another user.
  argv: readonly string[];
  env: Record<string, string>;
  cwd: string;
  // Where the daemon's stdout and stderr go (appended): never a pipe of watch's, which would
  // SIGPIPE the daemon once watch is gone.
  outputFile?: string;
  timeoutMs?: number;
  // supervised only: run as this user (setpriv), with the user's groups when it has a passwd entry.
  owner?: { uid: number; gid: number; hasPasswdEntry: boolean };
}

export type CgroupWrite = { path: string; data: string };

export type LaunchPlan =
  | { mode: 'systemd'; unit: string; argv: string[]; before: string[][] }
  | { mode: 'cgroup'; cgroup: string; argv: string[]; writes: CgroupWrite[]; restore: CgroupWrite }
  | { mode: 'session'; argv: string[]; reason: string };

// systemd is the init system: "PID 1 is systemd and /run/systemd/system exists" (sd_booted(3)).
export async function detectLaunchContext(host: Host): Promise<LaunchContext> {
  const base = { pid: process.pid };
  // A recorded or fake host is not this process's: nothing here is launched for real.
  if (host.selfPid() !== process.pid) return { ...base, systemd: false, cgroupRoot: null, ownCgroup: null };
  const comm = (await host.readText(host.proc(1, 'comm')))?.trim();
  const systemd = comm === 'systemd' && (await host.fileExists('/run/systemd/system'));
  const cgroupRoot = cgroup2Mount((await host.readText(host.proc('self', 'mountinfo'))) ?? '');
  const own = /^0::(\/.*)$/m.exec((await host.readText(host.proc('self', 'cgroup'))) ?? '')?.[1] ?? null;
  return { ...base, systemd, cgroupRoot, ownCgroup: own };
}

// The mountpoint of the cgroup2 filesystem in a mountinfo text, or null.
export function cgroup2Mount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    if (line.slice(sep + 3).split(' ')[0] === 'cgroup2') {
      return line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    }
  }
  return null;
}

// A path escaped as `systemd-escape --path` does (systemd.unit(5) "String Escaping for Inclusion in Unit Names").
export function systemdEscapePath(p: string): string {
  const simple = p.split('/').filter((s) => s.length > 0 && s !== '.');
  if (simple.length === 0) return '-';
  const bytes = Buffer.from(simple.join('/'), 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    const ch = String.fromCharCode(c);
    if (ch === '/') out += '-';
    else if (/[A-Za-z0-9:_]/.test(ch) || (ch === '.' && i > 0)) out += ch;
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

// The name of the daemon's unit (and cgroup) for a mountpoint. Why the hash for long paths: unit
// names stop at 255 characters (UNIT_NAME_MAX), cgroup directory names at NAME_MAX.
export function daemonUnitName(mountpoint: string): string {
  const esc = systemdEscapePath(mountpoint);
  const name = `enotconn-mount-${esc}`;
  if (name.length <= 200) return name;
  const h = createHash('sha256').update(mountpoint).digest('hex').slice(0, 16);
  return `enotconn-mount-${esc.slice(0, 160).replace(/\\x?[0-9a-f]?$/, '')}-${h}`;
}

// A program by absolute path: argv[0] as given when absolute, else the first root-owned directory holding it.
export function absoluteProgram(argv0: string, exists: (p: string) => boolean = defaultExists): string {
  if (argv0.startsWith('/')) return argv0;
  for (const d of PROGRAM_DIRS) {
    const p = path.join(d, argv0);
    if (exists(p)) return p;
  }
  return argv0;
}

function defaultExists(p: string): boolean {
  try {
    const st = fs.statSync(p);
    return st.isFile() && st.uid === 0 && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

// The parent of a cgroup path ("/" stays "/").
function parentCgroup(p: string): string {
  const d = path.posix.dirname(p);
  return d === '' ? '/' : d;
}

// What a launch will do, without doing it (pure, for --dry-run and tests).
export function planLaunch(
  ctx: LaunchContext,
  req: LaunchRequest,
  exists: (p: string) => boolean = defaultExists,
): LaunchPlan {
  const argv = [absoluteProgram(req.argv[0] ?? '', exists), ...req.argv.slice(1)];
  const asOwner =
    req.owner !== undefined
      ? [
          SETPRIV,
          `--reuid=${req.owner.uid}`,
          `--regid=${req.owner.gid}`,
          req.owner.hasPasswdEntry ? '--init-groups' : '--clear-groups',
          '--',
        ]
      : [];
  const unit = daemonUnitName(req.mountpoint);
  if (ctx.systemd) {
    const props = [
      // remount: the mount command forks the daemon and exits, and the start job succeeds only when
      // it exits 0, so systemd-run's status is the remount's; supervised: the daemon runs in the
      // foreground and the job succeeds once it has been exec'd.
      `--service-type=${req.kind === 'remount' ? 'forking' : 'exec'}`,
      // watch restarts a supervised daemon itself, with backoff and its circuit breaker.
      '--property=Restart=no',
      // A FUSE daemon must outlive any user session and be stopped only by an unmount.
      '--property=KillMode=control-group',
      ...(req.timeoutMs !== undefined ? [`--property=TimeoutStartSec=${Math.ceil(req.timeoutMs / 1000)}s`] : []),
      ...(req.outputFile !== undefined
        ? [`--property=StandardOutput=append:${req.outputFile}`, `--property=StandardError=append:${req.outputFile}`]
        : []),
    ];
    return {
      mode: 'systemd',
      unit: `${unit}.service`,
      // A unit left failed by an earlier daemon of this mountpoint would block the name.
      before: [[SYSTEMCTL, 'reset-failed', '--quiet', `${unit}.service`]],
      argv: [
        SYSTEMD_RUN,
        `--unit=${unit}`,
        // Unload the unit once it ends, failed or not, so the name is free for the next heal.
        '--collect',
        '--quiet',
        ...props,
        `--working-directory=${req.cwd}`,
        ...Object.entries(req.env).map(([k, v]) => `--setenv=${k}=${v}`),
        '--',
        ...asOwner,
        ...argv,
      ],
    };
  }
  if (ctx.cgroupRoot !== null && ctx.ownCgroup !== null) {
    const cgroup = path.join(ctx.cgroupRoot, parentCgroup(ctx.ownCgroup), unit);
    return {
      mode: 'cgroup',
      cgroup,
      argv: [...asOwner, ...argv],
      // Why watch moves itself for the instant of fork: a child moved after it started may already
      // have forked (sshfs starts ssh at once), and its children would stay in watch's cgroup. A
      // child forked while watch is in the daemon's cgroup is born there (cgroups(7), "fork").
      writes: [{ path: path.join(cgroup, 'cgroup.procs'), data: String(ctx.pid) }],
      restore: { path: path.join(ctx.cgroupRoot, ctx.ownCgroup, 'cgroup.procs'), data: String(ctx.pid) },
    };
  }
  return {
    mode: 'session',
    argv: [...asOwner, ...argv],
    reason: 'no writable cgroup v2 hierarchy: the daemon gets its own session only',
  };
}

// One line saying how the daemon was launched, for heal reports and logs.
export function describeLaunch(p: LaunchPlan): string {
  if (p.mode === 'systemd') return `as transient unit ${p.unit}: ${p.argv.join(' ')}`;
  if (p.mode === 'cgroup') return `in its own session and cgroup ${p.cgroup}: ${p.argv.join(' ')}`;
  return `in its own session (${p.reason}): ${p.argv.join(' ')}`;
}

// Remove empty daemon cgroups left by daemons that have exited; rmdir of a populated cgroup fails
// with EBUSY (cgroup-v2.rst "Creating and removing cgroups"), so a live daemon's is never touched.
function pruneEmptyCgroups(parent: string, keep: string, only?: string[]): void {
  let names: string[];
  try {
    names = only ?? fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith('enotconn-mount-') || path.join(parent, n) === keep) continue;
    try {
      fs.rmdirSync(path.join(parent, n));
    } catch {
      // populated (EBUSY) or gone
    }
  }
}

// Enter the daemon's cgroup (creating it), run `spawnNow` (which must fork synchronously), go back.
// Returns the writes that were done, or why the cgroup could not be used.
function forkInCgroup<T>(
  p: Extract<LaunchPlan, { mode: 'cgroup' }>,
  spawnNow: () => T,
): { result: T; writes: CgroupWrite[]; error: string | null } {
  const done: CgroupWrite[] = [];
  try {
    pruneEmptyCgroups(path.dirname(p.cgroup), p.cgroup);
    fs.mkdirSync(p.cgroup, { recursive: true, mode: 0o755 });
    for (const w of p.writes) {
      fs.writeFileSync(w.path, w.data);
      done.push(w);
    }
  } catch (e) {
    return { result: spawnNow(), writes: done, error: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
  try {
    return { result: spawnNow(), writes: done, error: null };
  } finally {
    try {
      fs.writeFileSync(p.restore.path, p.restore.data);
    } catch {
      // Leave it: watch then lives in the daemon's cgroup, which is harmless, but say so once.
      process.emitWarning(`enotconn: could not move back to ${p.restore.path}`);
    }
    done.push(p.restore);
  }
}

export interface LaunchedRemount {
  plan: LaunchPlan;
  result: ExecResult;
  note: string;
}

// Run a remount command so that the daemon it forks outlives watch; resolves when the command exits.
export async function launchRemount(host: Host, req: LaunchRequest, ctx?: LaunchContext): Promise<LaunchedRemount> {
  const c = ctx ?? (await detectLaunchContext(host));
  const plan = planLaunch(c, req);
  if (host.selfPid() === process.pid) closeInheritedFds();
  const opts = {
    timeoutMs: req.timeoutMs ?? 30_000,
    env: req.env,
    cwd: req.cwd,
    ...(req.outputFile !== undefined ? { outputFile: req.outputFile } : {}),
  };
  if (plan.mode === 'systemd') {
    for (const argv of plan.before) await host.exec(argv, { timeoutMs: 5000, env: { PATH: '/usr/bin:/bin' } });
    // systemd enforces TimeoutStartSec itself; our own deadline only backs it up.
    const result = await host.exec(plan.argv, {
      ...opts,
      timeoutMs: opts.timeoutMs + 5000,
      env: { PATH: '/usr/bin:/bin' },
    });
    return { plan, result, note: `launched ${describeLaunch(plan)}` };
  }
  if (plan.mode === 'cgroup') {
    // execArgv forks inside its promise executor, so the fork happens before this call returns.
    const r = forkInCgroup(plan, () => execArgv(plan.argv, opts));
    const result = await r.result;
    const note = r.error
      ? `launched in its own session; cgroup ${plan.cgroup} unusable (${r.error})`
      : `launched ${describeLaunch(plan)}`;
    return { plan, result, note };
  }
  return { plan, result: await host.exec(plan.argv, opts), note: `launched ${describeLaunch(plan)}` };
}

export interface LaunchedDaemon {
  plan: LaunchPlan;
  proc: SpawnedProcess;
  note: string;
}

// Start a foreground daemon (a managed mount) so that it outlives watch. Its exit is reported at
// once while watch is its parent; under systemd (not our child) by polling /proc.
export async function launchSupervised(host: Host, req: LaunchRequest, ctx?: LaunchContext): Promise<LaunchedDaemon> {
  const c = ctx ?? (await detectLaunchContext(host));
  const plan = planLaunch(c, req);
  if (host.selfPid() === process.pid) closeInheritedFds();
  if (plan.mode === 'systemd') {
    for (const argv of plan.before) await host.exec(argv, { timeoutMs: 5000, env: { PATH: '/usr/bin:/bin' } });
    const r = await host.exec(plan.argv, { timeoutMs: 30_000, env: { PATH: '/usr/bin:/bin' } });
    if (r.code !== 0) throw new Error(`systemd-run failed (${r.code ?? r.signal ?? r.spawnError}): ${r.stderr.trim()}`);
    const show = await host.exec([SYSTEMCTL, 'show', '--property=MainPID', '--value', plan.unit], {
      timeoutMs: 5000,
      env: { PATH: '/usr/bin:/bin' },
    });
    const pid = Number(show.stdout.trim());
    if (!(pid > 0)) throw new Error(`the unit ${plan.unit} has no main process (it exited at once?)`);
    return { plan, proc: pollingProcess(pid), note: `launched ${describeLaunch(plan)}` };
  }
  // A recorded or fake host spawns through itself (FakeHost records it); only the real one detaches.
  const spawnNow = (): SpawnedProcess =>
    host.selfPid() === process.pid ? spawnDetached(plan.argv, req) : host.spawnProcess(plan.argv, {});
  if (plan.mode === 'cgroup') {
    const r = forkInCgroup(plan, spawnNow);
    // Once our child is gone its cgroup is empty, unless it forked; rmdir refuses a populated one.
    void r.result.exited.then(() => pruneEmptyCgroups(path.dirname(plan.cgroup), '', [path.basename(plan.cgroup)]));
    const note = r.error
      ? `launched in its own session; cgroup ${plan.cgroup} unusable (${r.error})`
      : `launched ${describeLaunch(plan)}`;
    return { plan, proc: r.result, note };
  }
  return { plan, proc: spawnNow(), note: `launched ${describeLaunch(plan)}` };
}

// A detached child (own session: setsid) whose output goes to a file, never to a pipe of ours.
function spawnDetached(argv: readonly string[], req: LaunchRequest): SpawnedProcess {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('launchSupervised: empty argv');
  let fd: number | 'ignore' = 'ignore';
  if (req.outputFile !== undefined) fd = fs.openSync(req.outputFile, 'a', 0o600);
  try {
    const child = spawn(file, args, {
      shell: false,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: req.env,
      cwd: req.cwd,
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.on('error', () => resolve({ code: null, signal: null }));
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    child.unref();
    return { pid: child.pid ?? -1, exited, kill: (s: NodeJS.Signals = 'SIGTERM') => child.kill(s) };
  } finally {
    if (typeof fd === 'number') fs.closeSync(fd);
  }
}

// A process that is not our child: its exit is seen by polling /proc/<pid>.
function pollingProcess(pid: number): SpawnedProcess {
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    const t = setInterval(() => {
      if (!fs.existsSync(`/proc/${pid}`) || /\) Z /.test(readStat(pid))) {
        clearInterval(t);
        resolve({ code: null, signal: null });
      }
    }, 200);
  });
  return {
    pid,
    exited,
    kill: (s: NodeJS.Signals = 'SIGTERM') => {
      try {
        process.kill(pid, s);
        return true;
      } catch {
        return false;
      }
    },
  };
}

function readStat(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

// Close the descriptors this process inherited without close-on-exec (fd 3 and up), so no daemon
// it launches inherits them. Why: a FUSE daemon lives for days; one that inherited a lock fd (a
// `flock LOCK cmd` around its parent) or a pipe holds it for all that time. Every descriptor Node
// and libuv open is O_CLOEXEC (uv__open_cloexec), so what lacks the flag came from the parent.
// Node's IPC channel (NODE_CHANNEL_FD) is kept. Returns the numbers closed.
export function closeInheritedFds(): number[] {
  const keep = new Set([0, 1, 2, Number(process.env.NODE_CHANNEL_FD ?? -1)]);
  const closed: number[] = [];
  let fds: string[];
  try {
    fds = fs.readdirSync('/proc/self/fd');
  } catch {
    return closed;
  }
  for (const name of fds) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || keep.has(fd)) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      // O_CLOEXEC is 02000000 on Linux (asm-generic/fcntl.h).
      if (flags !== undefined && (parseInt(flags, 8) & 0o2000000) === 0) {
        fs.closeSync(fd);
        closed.push(fd);
      }
    } catch {
      // the fd of the readdir itself, already gone
    }
  }
  return closed;
}
