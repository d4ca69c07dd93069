import path from 'node:path';
// The daemon collector: the process serving a FUSE mount (argv naming the mountpoint, cross-checked
// against /dev/fuse holders), or, when it is gone, the argv last recorded for it.
import type { Host } from '../../host/types.js';
import { readProcIds, USER_HZ } from '../../host/proc.js';
import { KNOWN_DAEMONS } from '../backends/index.js';
import type { DaemonInfo, Evidence } from '../diagnosis.js';
import type { Recipe } from '../heal/recipe.js';
import type { MountInfo } from '../mountinfo/parse.js';
import {
  findFuseDaemonProof,
  fuseConnectionOf,
  kernelShowsFuseConnection,
  readProcessInfo,
  type DaemonProof,
  type ProcessInfo,
} from '../process-table.js';
import { mapLimited } from './budget.js';

export interface ProcessTable {
  processes: ProcessInfo[];
  complete: boolean; // false when the deadline cut the read short
}

// Every process's argv and stat, like readProcessTable, but bounded by a deadline (performance.now):
// reading /proc/<pid>/cmdline takes the process's mmap lock, which a task faulting on a hung mount
// may hold for as long as the mount hangs.
export async function readProcessTableBounded(
  host: Host,
  pids: readonly number[],
  deadline: number,
): Promise<ProcessTable> {
  const rows = await mapLimited(pids, 64, (pid) => readProcessInfo(host, pid), deadline);
  return {
    processes: rows.filter((r): r is ProcessInfo => r !== undefined && r !== null),
    complete: rows.every((r) => r !== undefined),
  };
}

export interface DaemonFindings {
  info: DaemonInfo;
  process: ProcessInfo | null;
  proof: DaemonProof | null; // how the daemon is tied to the mount (null: none found)
  evidence: Evidence[];
}

const STATE_NAMES: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'in uninterruptible sleep',
  T: 'stopped',
  t: 'stopped by a tracer',
  Z: 'a zombie',
  X: 'dead',
  I: 'idle',
};

// A /proc state letter in words.
export function stateName(state: string): string {
  return STATE_NAMES[state] ?? `in state ${state}`;
}

// The pid a recorded recipe remembers for its daemon, when the store kept one.
export function recipePid(recipe: Recipe | null): number | null {
  const pid = (recipe as { pid?: unknown } | null)?.pid;
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : null;
}

// Find the live daemon of a FUSE mount and describe it; the caller adds the recipe when it is gone.
export async function collectDaemon(
  host: Host,
  mount: MountInfo,
  tableRead: ProcessTable,
  devFuseHolders: readonly number[],
  allMounts: readonly MountInfo[] = [],
): Promise<DaemonFindings> {
  const table = tableRead.processes;
  const found = await findFuseDaemonProof(host, mount, table, KNOWN_DAEMONS);
  let proc = found?.process ?? null;
  let proof: DaemonProof | null = found?.proof ?? null;
  let crossChecked: Evidence | null = null;
  const conn = fuseConnectionOf(mount);
  const kernelProves = await kernelShowsFuseConnection(host);
  // Only where the kernel cannot name a /dev/fuse fd's connection: there, argv is all there is.
  if (!proc && !kernelProves) {
    // Cross-check with /dev/fuse holders: a daemon started with a relative mountpoint that has
    // since changed directory (bindfs chdirs into its source) still names the mountpoint's last part.
    // Only when no other FUSE mount shares that last part: otherwise the argv cannot tell them apart.
    const base = path.basename(mount.mountpoint);
    const twins = allMounts.filter(
      (m) =>
        m !== mount && isFuseType(m.type) && m.mountpoint !== mount.mountpoint && path.basename(m.mountpoint) === base,
    );
    const adopted = twins.length === 0 ? relativeCandidates(mount.mountpoint, table, devFuseHolders) : [];
    if (adopted.length === 1) {
      proc = adopted[0]!;
      proof = 'argv-hint';
      crossChecked = {
        source: 'daemon',
        detail: `pid ${proc.pid} holds /dev/fuse and names '${path.basename(mount.mountpoint)}' by a relative path in its argv; it is the only such process`,
      };
    }
  }
  if (!proc) {
    return {
      info: goneInfo(),
      process: null,
      proof: null,
      evidence: [
        {
          source: 'daemon',
          detail: kernelProves
            ? `no process holds FUSE connection ${conn} of ${mount.mountpoint}: no /dev/fuse fd's fdinfo names it (${devFuseHolders.length} process${devFuseHolders.length === 1 ? '' : 'es'} hold /dev/fuse for other connections)`
            : devFuseHolders.length === 0
              ? `no process serves ${mount.mountpoint}: no process holds /dev/fuse`
              : `no process serves ${mount.mountpoint}: none of the ${devFuseHolders.length} process${
                  devFuseHolders.length === 1 ? '' : 'es'
                } holding /dev/fuse (${devFuseHolders.slice(0, 8).join(', ')}${devFuseHolders.length > 8 ? ', ...' : ''}) names it in its command line`,
        },
        ...(tableRead.complete
          ? []
          : [
              {
                source: 'daemon' as const,
                detail: 'the process table was not read completely in time; the daemon may yet exist',
              },
            ]),
      ],
    };
  }
  const [ids, bootMs] = await Promise.all([readProcIds(host, proc.pid), host.bootTimeMs()]);
  const startedAt = bootMs === null ? null : new Date(bootMs + (proc.startTicks / USER_HZ) * 1000).toISOString();
  const holdsFuse = devFuseHolders.includes(proc.pid);
  const evidence: Evidence[] = [
    {
      source: 'daemon',
      detail: `pid ${proc.pid} (${proc.comm}) serves the mount: ${proc.argv.join(' ')}`,
    },
    ...(crossChecked ? [crossChecked] : []),
    proof === 'fdinfo'
      ? {
          source: 'daemon',
          detail: `pid ${proc.pid} holds a /dev/fuse fd of FUSE connection ${conn} (fuse_connection in /proc/${proc.pid}/fdinfo): it is this mount's daemon`,
        }
      : {
          source: 'daemon',
          detail: kernelProves
            ? `pid ${proc.pid} is only hinted at (its argv names the mountpoint); its fds cannot be read, so its connection is not proven`
            : `pid ${proc.pid} is only hinted at by its argv: this kernel does not show which FUSE connection a /dev/fuse fd belongs to (fuse_connection in fdinfo needs Linux 6.16)`,
        },
    {
      source: 'daemon',
      detail: `pid ${proc.pid} is ${stateName(proc.state)} (state ${proc.state} in /proc/${proc.pid}/stat)`,
    },
    {
      source: 'daemon',
      detail: holdsFuse
        ? `pid ${proc.pid} holds /dev/fuse open`
        : `pid ${proc.pid} does not show /dev/fuse among its open files (unreadable, or the fd is held by a child)`,
    },
  ];
  return {
    info: {
      pid: proc.pid,
      argv: proc.argv,
      uid: ids?.uid ?? null,
      gid: ids?.gid ?? null,
      comm: proc.comm,
      state: proc.state,
      startedAt,
      source: 'proc',
      ...(proof ? { proof } : {}),
    },
    process: proc,
    proof,
    evidence,
  };
}

function isFuseType(type: string): boolean {
  return type === 'fuse' || type === 'fuseblk';
}

// /dev/fuse holders whose argv names the mountpoint's last component by a relative path.
function relativeCandidates(
  mountpoint: string,
  table: readonly ProcessInfo[],
  devFuseHolders: readonly number[],
): ProcessInfo[] {
  const base = path.basename(mountpoint);
  const holders = new Set(devFuseHolders);
  return table.filter(
    (p) =>
      holders.has(p.pid) &&
      p.state !== 'Z' &&
      p.argv.slice(1).some((a) => !a.startsWith('/') && !a.startsWith('-') && path.basename(a) === base),
  );
}

// DaemonInfo for a daemon that is gone: from a recorded recipe when there is one.
export function goneInfo(recipe: Recipe | null = null): DaemonInfo {
  if (recipe && recipe.origin === 'recorded') {
    const argv0 = recipe.argv[0] ?? '';
    return {
      pid: null,
      argv: recipe.argv,
      uid: recipe.uid,
      gid: recipe.gid,
      comm: argv0.slice(argv0.lastIndexOf('/') + 1).slice(0, 15) || null,
      state: null,
      startedAt: null,
      source: 'recipe',
    };
  }
  return { pid: null, argv: null, uid: null, gid: null, comm: null, state: null, startedAt: null, source: 'none' };
}
