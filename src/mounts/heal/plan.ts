// The remediation plan: pure data. Given what heal found (diagnosis, recipe, resolved programs), it
// returns PlanStep[] with exact argv, risk and why, in escalation order. It reads nothing and takes
// no Host: heal/steps.ts runs the steps, re-verifying the mount before each one.
import path from 'node:path';
import type { ProbeState } from '../../host/types.js';
import { FIXED_PATH } from '../../host/programs.js';
import type { MountInfo } from '../mountinfo/parse.js';
import type { MountReport } from '../scan.js';
import type { Cause, DaemonInfo, Holder, PlanStep } from '../diagnosis.js';
import type { Recipe } from './recipe.js';
import { detachArgv } from './recipes.js';

// The absolute paths of the programs a plan may run (programs.ts resolves them once).
export interface PlanPrograms {
  setpriv: string;
  env: string;
  umount: string;
  fusermount3: string;
  mount: string;
  systemctl: string;
}

// Everything the planner may look at.
export interface PlanInput {
  mount: MountInfo;
  report: MountReport;
  state: ProbeState;
  causes: Cause[];
  daemon: DaemonInfo | null;
  holders: Holder[];
  recipe: Recipe | null;
  fuseConnection: number | null; // the superblock's dev_t (fuseConnectionOf) = /sys/fs/fuse/connections/<N>
  // The daemon program the remount runs, resolved to a root-owned absolute path; null when the
  // recipe's program is not one (a binary in a home directory): then nothing is unmounted.
  daemonProgram?: string | null;
  // The owner's passwd entry, for HOME/USER/LOGNAME of the remount's clean environment.
  ownerHome?: string | null;
  // The recipe's working directory, already verified through the probe child (null: "/").
  cwd?: string | null;
  // Why the remount cannot work (missing credentials...): nothing is unmounted.
  cannotRemount?: string | null;
}

export interface PlanOptions {
  force: boolean;
  selfUid?: number; // the uid heal runs as (default 0); decides the setpriv wrapper
  programs?: PlanPrograms; // default: the conventional /usr/bin and /usr/sbin paths
}

// The programs at their Debian paths: what tests and dry runs without resolution show.
export const DEFAULT_PROGRAMS: PlanPrograms = {
  setpriv: '/usr/bin/setpriv',
  env: '/usr/bin/env',
  umount: '/usr/bin/umount',
  fusermount3: '/usr/bin/fusermount3',
  mount: '/usr/bin/mount',
  systemctl: '/usr/bin/systemctl',
};

// Timeouts per step (ms). A umount of a hung NFS mount can sit in D state: the timeout abandons it.
export const STEP_TIMEOUTS = {
  fusermount: 5_000,
  umount: 10_000,
  umountForce: 10_000,
  umountLazy: 5_000,
  remount: 30_000,
  restartUnit: 60_000,
} as const;

// Grace between SIGTERM and SIGKILL for a wedged daemon.
export const STOP_GRACE_MS = 2_000;

// The per-mount options a remount must keep: dropping one would make the new mount weaker.
export const SECURITY_OPTIONS: readonly string[] = ['ro', 'nosuid', 'nodev', 'noexec'];

// Variables of a recorded daemon's environment handed to the owner's new daemon (never to root's
// own processes): where it finds its agent, config and tickets. PATH, HOME and LD_* never are.
export const OWNER_ENV_KEEP: readonly string[] = [
  'SSH_AUTH_SOCK',
  'RCLONE_CONFIG',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'KRB5CCNAME',
];

// True for FUSE mounts (fuse, fuse.*, fuseblk).
export function isFuse(m: Pick<MountInfo, 'type'>): boolean {
  return m.type === 'fuse' || m.type === 'fuseblk';
}

// The user a command runs as (runAsArgv): a mount's owner.
export interface RunAsOwner {
  uid: number;
  gid: number;
  user?: string | undefined;
}

// The argv that runs `argv` as uid:gid with the owner's supplementary groups and a reset
// environment (util-linux setpriv, by absolute path), or argv itself when heal already runs as
// that user. Never root on the owner's behalf.
export function runAsArgv(
  argv: readonly string[],
  owner: RunAsOwner,
  selfUid: number,
  setpriv: string = DEFAULT_PROGRAMS.setpriv,
): string[] {
  if (owner.uid === selfUid) return [...argv];
  return [
    setpriv,
    `--reuid=${owner.uid}`,
    `--regid=${owner.gid}`,
    // --init-groups needs a passwd entry for the uid; without one, drop root's groups instead.
    owner.user !== undefined ? '--init-groups' : '--clear-groups',
    '--reset-env',
    '--',
    ...argv,
  ];
}

// The clean environment of the owner's daemon, as `env -i` arguments: fixed PATH and LANG, HOME,
// USER and LOGNAME from passwd, and only OWNER_ENV_KEEP from the recipe (a config recipe, written
// by root, may set any variable but PATH and LD_*).
export function ownerEnv(recipe: Recipe, home: string | null): string[] {
  const env: Record<string, string> = { PATH: FIXED_PATH, LANG: 'C' };
  if (home !== null) env.HOME = home;
  if (recipe.user !== undefined) Object.assign(env, { USER: recipe.user, LOGNAME: recipe.user });
  for (const [k, v] of Object.entries(recipe.env)) {
    const allowed = recipe.origin === 'config' ? k !== 'PATH' && !k.startsWith('LD_') : OWNER_ENV_KEEP.includes(k);
    if (allowed && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !v.includes('\0')) env[k] = v;
  }
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

// The remount command: `env -i [-C cwd] VARS... PROGRAM ARGS...`, run through setpriv as the owner.
// Why env -C: the owner's process changes directory after exec, so root never chdirs into a
// user-chosen directory, and a hung cwd can only stall the owner's child, never heal.
export function ownerCommand(
  recipe: Recipe,
  program: string,
  args: readonly string[],
  opts: { selfUid: number; programs: PlanPrograms; home: string | null; cwd: string | null },
): string[] {
  const inner = [
    opts.programs.env,
    '-i',
    ...(opts.cwd !== null && opts.cwd !== '/' ? ['-C', opts.cwd] : []),
    ...ownerEnv(recipe, opts.home),
    program,
    ...args,
  ];
  return runAsArgv(inner, recipe, opts.selfUid, opts.programs.setpriv);
}

// The recipe's argv with the security options of the mount being replaced added back, so the new
// mount is never weaker than the old one (a reconstructed argv knows nothing of them).
export function withSecurityOptions(argv: readonly string[], mount: MountInfo): string[] {
  const want = SECURITY_OPTIONS.filter((o) => mount.options.includes(o));
  if (want.length === 0) return [...argv];
  const prog = path.basename(argv[0] ?? '');
  if (prog === 'mount' || prog.startsWith('mount.')) {
    const out = [...argv];
    const i = out.indexOf('-o');
    if (i >= 0 && out[i + 1] !== undefined) {
      const have = out[i + 1]!.split(',');
      out[i + 1] = [
        ...have.filter((o) => o !== 'rw' || !want.includes('ro')),
        ...want.filter((o) => !have.includes(o)),
      ].join(',');
      return out;
    }
    // `mount MOUNTPOINT` (fstab): options go before the mountpoint.
    return [out[0]!, '-o', want.join(','), ...out.slice(1)];
  }
  if (prog === 'systemctl') return [...argv];
  // Options the argv already asks for (a recipe rebuilt from the mount table carries them) are not
  // repeated: each `-o A,B` (or -oA,B) and rclone's --read-only counts.
  const have = new Set<string>();
  argv.forEach((x, i) => {
    const o = x === '-o' ? argv[i + 1] : x.startsWith('-o') ? x.slice(2) : undefined;
    for (const v of o?.split(',') ?? []) have.add(v);
    if (x === '--read-only') have.add('ro');
  });
  const missing = want.filter((o) => !have.has(o));
  if (missing.length === 0) return [...argv];
  if (prog === 'rclone') return [...argv, ...missing.flatMap((o) => (o === 'ro' ? ['--read-only'] : ['-o', o]))];
  // libfuse daemons (sshfs, bindfs, s3fs...) take generic mount options with -o and merge repeats.
  return [...argv, '-o', missing.join(',')];
}

function describeRecipe(r: Recipe): string {
  const who = `uid ${r.uid}${r.user !== undefined ? ` (${r.user})` : ''}`;
  switch (r.origin) {
    case 'config':
      return `remount from enotconn's config, as ${who}`;
    case 'recorded':
      return `remount with the daemon's own argv recorded ${r.recordedAt ?? 'earlier'}, as ${who}`;
    case 'fstab':
      return 'remount from its /etc/fstab entry';
    case 'systemd':
      return `restart the systemd unit ${r.unit ?? '?'} that owns the mountpoint`;
    case 'reconstructed':
      return `remount from a recipe RECONSTRUCTED from the mount table (never seen alive), as ${who}; it may lack: ${r.missing.join('; ')}`;
  }
}

// The steps heal would run, in order, each with exact argv (absolute program paths) and a risk.
export function buildPlan(input: PlanInput, opts: PlanOptions): PlanStep[] {
  const { mount, state, daemon, holders, recipe, fuseConnection } = input;
  const force = opts.force;
  const selfUid = opts.selfUid ?? 0;
  const programs = opts.programs ?? DEFAULT_PROGRAMS;
  if (state === 'healthy' && !force) return [{ action: 'none', risk: 'safe', why: 'the mount is healthy' }];
  const mp = mount.mountpoint;
  const target = { mountId: mount.id, device: `${mount.major}:${mount.minor}`, mountpoint: mp };
  const steps: PlanStep[] = [];
  if (holders.length > 0) {
    const list = holders
      .slice(0, 10)
      .map((h) => `${h.pid} ${h.comm} (${h.how.join(',')})`)
      .join(', ');
    steps.push({
      action: 'report-holders',
      risk: 'safe',
      why: `${holders.length} process(es) hold the mount: ${list}. They are never killed; a busy mount is detached lazily and they keep the old one until they restart or cd`,
    });
  }
  // Unmounting without a way back would turn ENOTCONN into an empty directory that programs write into.
  const noWayBack = !recipe
    ? 'no recipe to remount with (no config, record, fstab entry or unit, and the backend cannot be reconstructed)'
    : (input.cannotRemount ??
      (recipe.origin !== 'systemd' && input.daemonProgram === null
        ? `the recipe's program ${JSON.stringify(recipe.argv[0] ?? '')} is not a root-owned binary in /usr/sbin, /usr/bin, /sbin or /bin`
        : null));
  if (noWayBack !== null) {
    steps.push({ action: 'none', risk: 'safe', why: `${noWayBack}; nothing is unmounted` });
    return steps;
  }
  const r = recipe!;
  const alive = daemon !== null && daemon.pid !== null && daemon.source === 'proc' && daemon.state !== 'Z';
  if (isFuse(mount) && state !== 'dead' && state !== 'healthy' && (state === 'hung' || alive)) {
    const stopped = daemon?.state === 'T' || daemon?.state === 't';
    steps.push({
      action: 'abort-connection',
      write: { path: `/sys/fs/fuse/connections/${fuseConnection ?? mount.minor}/abort`, data: '1' },
      ...(alive && daemon.pid !== null
        ? {
            signal: {
              pid: daemon.pid,
              // A stopped process acts on SIGTERM only once continued: send SIGCONT right after it.
              signals: stopped ? ['SIGTERM', 'SIGCONT', 'SIGKILL'] : ['SIGTERM', 'SIGKILL'],
              graceMs: STOP_GRACE_MS,
            },
          }
        : {}),
      target,
      risk: 'destructive',
      why: `abort the FUSE connection (Documentation/filesystems/fuse.rst, "Aborting a filesystem connection") so waiting requests fail at once${alive ? `, then stop the wedged daemon (pid ${daemon.pid}): SIGTERM, SIGKILL after ${STOP_GRACE_MS}ms` : ''}; writes in flight are lost`,
      requiresForce: true,
    });
  }
  const hung = state === 'hung';
  // Why --no-canonicalize: umount(8) would otherwise resolve symlinks in the path, which a user
  // who owns a parent directory can swap between the check and the call. Root unmounts FUSE with
  // umount too; fusermount3 resolves the path itself (fuse_mnt_resolve_path), so only a non-root
  // heal of its own mount uses it.
  const fuseUser = isFuse(mount) && selfUid !== 0;
  const un = (flag: string | null): string[] =>
    fuseUser
      ? [programs.fusermount3, flag === '-l' ? '-uz' : '-u', '--', mp]
      : [programs.umount, '--no-canonicalize', ...(flag ? [flag] : []), '--', mp];
  steps.push({
    action: 'unmount',
    argv: un(null),
    target,
    timeoutMs: isFuse(mount) ? STEP_TIMEOUTS.fusermount : STEP_TIMEOUTS.umount,
    risk: 'safe',
    why: isFuse(mount)
      ? 'clean unmount; fails with EBUSY while a process holds the mount'
      : 'clean unmount; flushes dirty pages first, so it can block on an unreachable server (bounded by the timeout)',
  });
  if (!isFuse(mount)) {
    steps.push({
      action: 'unmount-force',
      argv: un('-f'),
      target,
      timeoutMs: STEP_TIMEOUTS.umountForce,
      risk: 'caution',
      why: 'force: pending requests to the server are aborted (NFS: MNT_FORCE kills RPCs in flight), so their writes fail',
      ...(hung ? { requiresForce: true } : {}),
    });
  }
  steps.push({
    action: 'unmount-lazy',
    argv: un('-l'),
    target,
    timeoutMs: isFuse(mount) ? STEP_TIMEOUTS.fusermount : STEP_TIMEOUTS.umountLazy,
    risk: 'caution',
    why: 'detach the mount even when busy; holders keep the old mount until they let go',
    ...(hung && !isFuse(mount) ? { requiresForce: true } : {}),
  });
  if (r.origin === 'systemd') {
    steps.push({
      action: 'restart-unit',
      argv: [programs.systemctl, 'restart', '--', r.unit ?? ''],
      runAs: 0,
      target,
      timeoutMs: STEP_TIMEOUTS.restartUnit,
      risk: 'safe',
      why: describeRecipe(r),
    });
    return steps;
  }
  const detached = withSecurityOptions(detachArgv(r.argv), mount);
  steps.push({
    action: 'remount',
    argv: ownerCommand(r, input.daemonProgram!, detached.slice(1), {
      selfUid,
      programs,
      home: input.ownerHome ?? null,
      cwd: input.cwd ?? null,
    }),
    runAs: r.uid,
    target,
    timeoutMs: STEP_TIMEOUTS.remount,
    risk: 'safe',
    why: `${describeRecipe(r)}; a foreground daemon is started detached (-f dropped, rclone --daemon) so the step returns once the mount is up`,
  });
  return steps;
}

// Clear a mountpoint: lazily unmount every mount stacked on it, top first, each by its identity
// (the supervisor's "ExecStartPre=-fusermount3 -uz", crash recovery's rollback). Why lazy: a plain
// unmount of a dead or hung FUSE mount fails with EBUSY or blocks; MNT_DETACH detaches it at once
// and the kernel frees it when the last user goes (umount(2)).
export function clearPlan(
  stack: readonly MountInfo[],
  opts: { selfUid: number; programs?: PlanPrograms; why: string },
): PlanStep[] {
  const programs = opts.programs ?? DEFAULT_PROGRAMS;
  return [...stack].reverse().map((m) => ({
    action: 'unmount-lazy' as const,
    argv:
      isFuse(m) && opts.selfUid !== 0
        ? [programs.fusermount3, '-uz', '--', m.mountpoint]
        : [programs.umount, '--no-canonicalize', '-l', '--', m.mountpoint],
    target: { mountId: m.id, device: `${m.major}:${m.minor}`, mountpoint: m.mountpoint },
    timeoutMs: STEP_TIMEOUTS.umountLazy,
    risk: 'caution' as const,
    why: opts.why,
  }));
}

// A clean unmount of one mount (the supervisor's SIGTERM with onStop: unmount).
export function cleanUnmountStep(m: MountInfo, opts: { selfUid: number; programs?: PlanPrograms }): PlanStep {
  const programs = opts.programs ?? DEFAULT_PROGRAMS;
  return {
    action: 'unmount',
    argv:
      isFuse(m) && opts.selfUid !== 0
        ? [programs.fusermount3, '-u', '--', m.mountpoint]
        : [programs.umount, '--no-canonicalize', '--', m.mountpoint],
    target: { mountId: m.id, device: `${m.major}:${m.minor}`, mountpoint: m.mountpoint },
    timeoutMs: STEP_TIMEOUTS.fusermount,
    risk: 'safe',
    why: 'clean unmount on stop; the daemon exits by itself',
  };
}

// Start a supervised daemon in the foreground as its owner (watch's managed mounts): the remount
// step of a config recipe, not detached, so watch learns of its exit at once.
export function supervisedStartStep(
  recipe: Recipe,
  program: string,
  opts: {
    selfUid: number;
    programs?: PlanPrograms;
    home: string | null;
    cwd: string | null;
    previous: MountInfo | null;
  },
): PlanStep {
  const programs = opts.programs ?? DEFAULT_PROGRAMS;
  const p = opts.previous;
  return {
    action: 'remount',
    argv: ownerCommand(recipe, program, recipe.argv.slice(1), {
      selfUid: opts.selfUid,
      programs,
      home: opts.home,
      cwd: opts.cwd,
    }),
    runAs: recipe.uid,
    // No previous mount: -1 is never a mount id, so the step finds nothing in the way.
    target: p
      ? { mountId: p.id, device: `${p.major}:${p.minor}`, mountpoint: p.mountpoint }
      : { mountId: -1, device: '0:0', mountpoint: recipe.mountpoint },
    risk: 'safe',
    why: `start the managed daemon in the foreground, as uid ${recipe.uid}`,
  };
}
