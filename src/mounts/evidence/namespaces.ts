// The namespaces collector: mount namespaces other than ours (containers, `unshare -m`) whose
// mount table still shows the mount, found through /proc/<pid>/ns/mnt and /proc/<pid>/mountinfo.
// One mountinfo is read per namespace (deduplicated by the namespace's inode).
import type { Host } from '../../host/types.js';
import type { NamespaceCopy, NamespaceView } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { parseMountinfo } from '../mountinfo/parse.js';
import { readProcStat } from '../../host/proc.js';
import type { WalkResult } from './holders.js';

// Every mount of superblock `device` ("major:minor") in a namespace's table, in mount order.
export function copiesOf(mounts: readonly MountInfo[], device: string): NamespaceCopy[] {
  return mounts
    .filter((m) => `${m.major}:${m.minor}` === device)
    .map((m) => ({ mountId: m.id, mountpoint: m.mountpoint, root: m.root, options: [...m.options] }));
}

// The inode number in "mnt:[4026532xxx]" (null for anything else).
export function mntnsInode(link: string): number | null {
  const m = /^mnt:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}

// The view of one foreign namespace, read through the first readable member of `pids` (sorted):
// null when none is readable or the namespace holds no mount of any of `devices`.
export async function namespaceView(
  host: Host,
  mntns: string,
  pids: number[],
  devices: readonly string[],
): Promise<NamespaceView | null> {
  for (const pid of pids.slice(0, 3)) {
    const text = await host.readText(host.proc(pid, 'mountinfo'));
    if (text === null) continue;
    let mounts: MountInfo[];
    try {
      mounts = parseMountinfo(text);
    } catch {
      continue;
    }
    const copies = devices.flatMap((d) => copiesOf(mounts, d));
    if (copies.length === 0) return null;
    copies.sort((a, b) => a.mountId - b.mountId);
    const st = await readProcStat(host, pid);
    // The member that answered leads: a graft enters through it.
    const ordered = [pid, ...pids.filter((p) => p !== pid)];
    return {
      mntns,
      pids: ordered,
      comm: st?.comm ?? '?',
      mountpoint: copies[0]!.mountpoint,
      copies,
      pidStart: st?.startTicks ?? null,
    };
  }
  return null;
}

// Group processes by foreign mount namespace; read one mountinfo per namespace and look for the
// same superblock (major:minor), whatever path it is mounted on there.
export async function collectNamespaces(host: Host, walk: WalkResult, mount: MountInfo): Promise<NamespaceView[]> {
  const groups = new Map<string, number[]>();
  for (const p of walk.processes) {
    if (p.mntns === null || p.mntns === walk.selfMntns) continue;
    const g = groups.get(p.mntns);
    if (g) g.push(p.pid);
    else groups.set(p.mntns, [p.pid]);
  }
  return namespaceViews(host, groups, [`${mount.major}:${mount.minor}`]);
}

// The views of every namespace in `groups` (mntns → member pids) that holds one of `devices`,
// ordered by their first pid.
export async function namespaceViews(
  host: Host,
  groups: ReadonlyMap<string, number[]>,
  devices: readonly string[],
): Promise<NamespaceView[]> {
  const views = await Promise.all(
    [...groups].map(([mntns, pids]) =>
      namespaceView(
        host,
        mntns,
        [...pids].sort((a, b) => a - b),
        devices,
      ),
    ),
  );
  return views.filter((v): v is NamespaceView => v !== null).sort((a, b) => a.pids[0]! - b.pids[0]!);
}
