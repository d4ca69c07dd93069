// The namespaces collector: mount namespaces other than ours (containers, `unshare -m`) whose
// mount table still shows the mount, found through /proc/<pid>/ns/mnt and /proc/<pid>/mountinfo.
import type { Host } from '../../host/types.js';
import type { NamespaceView } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { parseMountinfo } from '../mountinfo/parse.js';
import { readProcStat } from '../../host/proc.js';
import type { WalkResult } from './holders.js';

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
  const views = await Promise.all(
    [...groups].map(async ([mntns, pids]): Promise<NamespaceView | null> => {
      pids.sort((a, b) => a - b);
      // Any member will do; the first readable one answers for the namespace.
      for (const pid of pids.slice(0, 3)) {
        const text = await host.readText(host.proc(pid, 'mountinfo'));
        if (text === null) continue;
        let mounts: MountInfo[];
        try {
          mounts = parseMountinfo(text);
        } catch {
          continue;
        }
        const hit = mounts.find((m) => m.major === mount.major && m.minor === mount.minor);
        if (!hit) return null;
        const st = await readProcStat(host, pid);
        return { mntns, pids, comm: st?.comm ?? '?', mountpoint: hit.mountpoint };
      }
      return null;
    }),
  );
  return views.filter((v): v is NamespaceView => v !== null).sort((a, b) => a.pids[0]! - b.pids[0]!);
}
