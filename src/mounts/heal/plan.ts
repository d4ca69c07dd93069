// The remediation plan (heal issue, "Plan and apply"): exact argv per step, its risk and why, in
// escalation order. apply.ts re-checks the state before each step and skips what is no longer needed.
import path from 'node:path';
import type { Host, ProbeState } from '../../host/types.js';
import type { MountInfo } from '../mountinfo/parse.js';
import type { MountReport } from '../scan.js';
import type { Cause, DaemonInfo, Holder, PlanStep } from '../diagnosis.js';
import type { Recipe } from './recipe.js';
import { detachArgv } from './recipes.js';
import { resolveRecipeFor, type ResolveOptions } from './record.js';

// Everything the planner may look at.
export interface PlanInput {
  mount: MountInfo;
  report: MountReport;
  state: ProbeState;
  causes: Cause[];
  daemon: DaemonInfo | null;
  holders: Holder[];
  recipe: Recipe | null;
  fuseConnection: number | null; // minor device number = /sys/fs/fuse/connections/<N>
}

export interface PlanOptions {
  force: boolean;
  selfUid?: number; // the uid heal runs as (default: this process's); decides the setpriv wrapper
}

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

// True for FUSE mounts (fuse, fuse.*, fuseblk): they are unmounted with fusermount3.
export function isFuse(m: Pick<MountInfo, 'type'>): boolean {
  return m.type === 'fuse' || m.type === 'fuseblk';
}

// The argv that runs `argv` as uid:gid with the owner's supplementary groups (util-linux setpriv),
// or argv itself when heal already runs as that user. Never root on the owner's behalf.
export function runAsArgv(
  argv: readonly string[],
  recipe: Pick<Recipe, 'uid' | 'gid' | 'user'>,
  selfUid: number,
): string[] {
  if (recipe.uid === selfUid) return [...argv];
  return [
    'setpriv',
    `--reuid=${recipe.uid}`,
    `--regid=${recipe.gid}`,
    // --init-groups needs a passwd entry for the uid; without one, drop root's groups instead.
    recipe.user !== undefined ? '--init-groups' : '--clear-groups',
    '--',
    ...argv,
  ];
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

// The steps heal would run, in order, each with exact argv and a risk.
export function buildPlan(input: PlanInput, opts: PlanOptions): PlanStep[] {
  const { mount, state, daemon, holders, recipe, fuseConnection } = input;
  const force = opts.force;
  const selfUid = opts.selfUid ?? process.getuid?.() ?? 0;
  if (state === 'healthy' && !force) return [{ action: 'none', risk: 'safe', why: 'the mount is healthy' }];
  const mp = mount.mountpoint;
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
  if (!recipe) {
    // Unmounting without a way back would turn ENOTCONN into an empty directory that programs write into.
    steps.push({
      action: 'none',
      risk: 'safe',
      why: 'no recipe to remount with (no config, record, fstab entry or unit, and the backend cannot be reconstructed); nothing is unmounted',
    });
    return steps;
  }
  const alive = daemon !== null && daemon.pid !== null && daemon.source === 'proc' && daemon.state !== 'Z';
  if (isFuse(mount)) {
    if (state !== 'dead' && state !== 'healthy' && (state === 'hung' || alive)) {
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
        risk: 'destructive',
        why: `abort the FUSE connection (Documentation/filesystems/fuse.rst, "Aborting a filesystem connection") so waiting requests fail at once${alive ? `, then stop the wedged daemon (pid ${daemon.pid}): SIGTERM, SIGKILL after ${STOP_GRACE_MS}ms` : ''}; writes in flight are lost`,
        requiresForce: true,
      });
    }
    steps.push({
      action: 'unmount',
      argv: ['fusermount3', '-u', mp],
      timeoutMs: STEP_TIMEOUTS.fusermount,
      risk: 'safe',
      why: 'clean unmount; fails with EBUSY while a process holds the mount',
    });
    steps.push({
      action: 'unmount-lazy',
      argv: ['fusermount3', '-uz', mp],
      timeoutMs: STEP_TIMEOUTS.fusermount,
      risk: 'caution',
      why: 'detach the mount even when busy; holders keep the old, dead mount until they let go',
    });
  } else {
    const hung = state === 'hung';
    steps.push({
      action: 'unmount',
      argv: ['umount', mp],
      timeoutMs: STEP_TIMEOUTS.umount,
      risk: 'safe',
      why: 'clean unmount; flushes dirty pages first, so it can block on an unreachable server (bounded by the timeout)',
    });
    steps.push({
      action: 'unmount-force',
      argv: ['umount', '-f', mp],
      timeoutMs: STEP_TIMEOUTS.umountForce,
      risk: 'caution',
      why: 'force: pending requests to the server are aborted (NFS: MNT_FORCE kills RPCs in flight), so their writes fail',
      ...(hung ? { requiresForce: true } : {}),
    });
    steps.push({
      action: 'unmount-lazy',
      argv: ['umount', '-l', mp],
      timeoutMs: STEP_TIMEOUTS.umountLazy,
      risk: 'caution',
      why: 'detach the mount even when busy; holders keep the old mount until they let go',
      ...(hung ? { requiresForce: true } : {}),
    });
  }
  if (recipe.origin === 'systemd') {
    steps.push({
      action: 'restart-unit',
      argv: ['systemctl', 'restart', recipe.unit ?? ''],
      runAs: 0,
      timeoutMs: STEP_TIMEOUTS.restartUnit,
      risk: 'safe',
      why: describeRecipe(recipe),
    });
  } else {
    steps.push({
      action: 'remount',
      argv: runAsArgv(detachArgv(recipe.argv), recipe, selfUid),
      runAs: recipe.uid,
      timeoutMs: STEP_TIMEOUTS.remount,
      risk: 'safe',
      why: `${describeRecipe(recipe)}; a foreground daemon is started detached (-f dropped, rclone --daemon) so the step returns once the mount is up`,
    });
  }
  return steps;
}

// The best recipe for remounting, from config, recorded store, fstab, systemd, or reconstructed.
export async function resolveRecipe(
  host: Host,
  mount: MountInfo,
  daemon: DaemonInfo | null,
  opts: ResolveOptions = {},
): Promise<Recipe | null> {
  return resolveRecipeFor(host, mount, daemon, opts);
}

// The real path of a plan's file write, under the host's root (a fixture tree records it instead).
export function hostPath(host: Host, p: string): string {
  return host.root ? path.join(host.root, p) : p;
}
