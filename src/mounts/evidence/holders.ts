// The holders collector: processes whose cwd, root, open fds, mapped files or executable lie in the
// mount. Only readlink and reads under /proc: never a stat or realpath through the suspect mount.
import path from 'node:path';
import type { Host } from '../../host/types.js';
import { readProcIds, readProcStat } from '../../host/proc.js';
import { mappedPathsIn } from '../../host/proc-entry.js';
import type { Evidence, Holder } from '../diagnosis.js';

type How = Holder['how'][number];

// What one pass over /proc/<pid> found for one process.
export interface ProcessLinks {
  pid: number;
  mntns: string | null;
  devFuse: boolean; // holds /dev/fuse open
  fdsReadable: boolean; // false when /proc/<pid>/fd could not be listed (another user's, without root)
  holds: Array<{ how: How; path: string }>;
}

export interface WalkResult {
  selfMntns: string | null;
  processes: ProcessLinks[];
  complete: boolean; // false when the deadline cut the walk short
}

// True when `p` (as /proc prints it, maybe with " (deleted)") is the mountpoint or under it.
export function isUnder(p: string, mountpoint: string): boolean {
  const clean = p.endsWith(' (deleted)') ? p.slice(0, -' (deleted)'.length) : p;
  if (mountpoint === '/') return clean.startsWith('/');
  return clean === mountpoint || clean.startsWith(mountpoint.endsWith('/') ? mountpoint : `${mountpoint}/`);
}

// Paths of the files a process maps, from /proc/<pid>/maps (the sixth field onward).
export function mappedPaths(maps: string): string[] {
  return mappedPathsIn(maps);
}

// One pass over every process: its mount namespace, whether it holds /dev/fuse, and what it holds
// in the mount. Stops at `deadline` (performance.now) and says so.
export async function walkProcesses(host: Host, mountpoint: string, deadline = Infinity): Promise<WalkResult> {
  // One read of every process's links (the native helper: one request for all of them; readlink
  // prints the dentry's path and never touches the filesystem it names). maps is read last, each on
  // its own deadline (a process faulting on a hung mount may hold its mmap lock), and only the
  // paths under the mountpoint come back.
  const tableP = host.readProcesses(['mntns', 'cwd', 'root', 'exe', 'fds', 'maps'], {
    mapsPrefix: mountpoint,
    deadline,
  });
  const selfMntns = await host.readLink(host.proc('self', 'ns', 'mnt'));
  const skip = host.selfPid() ?? -1;
  const table = await tableP;
  const processes: ProcessLinks[] = [];
  for (const e of table.entries) {
    if (e.pid === skip) continue;
    const holds: ProcessLinks['holds'] = [];
    const { cwd = null, root = null, exe = null, fds = null } = e;
    if (cwd !== null && isUnder(cwd, mountpoint)) holds.push({ how: 'cwd', path: cwd });
    if (root !== null && root !== '/' && isUnder(root, mountpoint)) holds.push({ how: 'root', path: root });
    if (exe !== null && isUnder(exe, mountpoint)) holds.push({ how: 'exe', path: exe });
    let devFuse = false;
    for (const { target } of fds ?? []) {
      if (target === '/dev/fuse') devFuse = true;
      else if (isUnder(target, mountpoint)) holds.push({ how: 'fd', path: target });
    }
    for (const p of e.maps ?? []) {
      if (isUnder(p, mountpoint) && !(exe !== null && p === exe)) holds.push({ how: 'map', path: p });
    }
    processes.push({ pid: e.pid, mntns: e.mntns ?? null, devFuse, fdsReadable: fds !== null, holds });
  }
  return { selfMntns, processes, complete: table.complete };
}

// user name by uid, from the host's /etc/passwd.
export async function readPasswd(host: Host): Promise<Map<number, string>> {
  const text = await host.readText(path.join(host.root || '/', 'etc', 'passwd'));
  const out = new Map<number, string>();
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]!)) out.set(Number(f[2]), f[0]!);
  }
  return out;
}

export interface HolderFindings {
  holders: Holder[];
  devFuseHolders: number[];
  evidence: Evidence[];
}

// The holders of the mount among processes in our own mount namespace (paths elsewhere are
// relative to another root and may name a different mount).
export async function collectHolders(
  host: Host,
  walk: WalkResult,
  exclude: ReadonlySet<number>,
): Promise<HolderFindings> {
  const passwd = await readPasswd(host);
  const mine = walk.processes.filter(
    (p) =>
      p.holds.length > 0 &&
      !exclude.has(p.pid) &&
      (walk.selfMntns === null || p.mntns === null || p.mntns === walk.selfMntns),
  );
  const holders = await Promise.all(
    mine.map(async (p): Promise<Holder> => {
      const [st, ids] = await Promise.all([readProcStat(host, p.pid), readProcIds(host, p.pid)]);
      const how = [...new Set(p.holds.map((h) => h.how))];
      const uid = ids?.uid ?? null;
      return {
        pid: p.pid,
        comm: st?.comm ?? '?',
        uid,
        user: uid === null ? null : (passwd.get(uid) ?? null),
        how,
        paths: [...new Set(p.holds.map((h) => h.path))],
      };
    }),
  );
  holders.sort((a, b) => a.pid - b.pid);
  const evidence = holders.map((h): Evidence => ({
    source: 'holders',
    detail: `pid ${h.pid} (${h.comm}${h.user !== null ? `, user ${h.user}` : ''}) holds ${h.how.join('+')}: ${h.paths.slice(0, 3).join(', ')}${h.paths.length > 3 ? ` and ${h.paths.length - 3} more` : ''}`,
  }));
  if (!walk.complete) {
    evidence.push({ source: 'holders', detail: 'the process walk ran out of time; the holder list may be incomplete' });
  }
  return {
    holders,
    devFuseHolders: walk.processes.filter((p) => p.devFuse).map((p) => p.pid),
    evidence,
  };
}
