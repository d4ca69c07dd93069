// The FUSE connection collector: /sys/fs/fuse/connections/<id>/waiting, where <id> is the mount's
// device number as the kernel prints it (fs/fuse/control.c names it by fc->dev: the minor for
// fuse's anonymous devices, major << 20 | minor for fuseblk; Documentation/filesystems/fuse.rst).
import type { Host } from '../../host/types.js';
import type { Evidence } from '../diagnosis.js';
import type { MountInfo } from '../mountinfo/parse.js';
import { fuseConnectionOf } from '../process-table.js';

export interface FusectlFindings {
  connection: number;
  waiting: number | null; // null when fusectl could not be read
  mountedFusectl: boolean; // this run mounted fusectl because it was missing
  evidence: Evidence[];
}

// True for the mount types served through /dev/fuse.
export function isFuseMount(m: Pick<MountInfo, 'type'>): boolean {
  return m.type === 'fuse' || m.type === 'fuseblk';
}

// Read the number of requests waiting on the mount's FUSE connection, mounting fusectl if needed.
export async function collectFusectl(host: Host, mount: MountInfo): Promise<FusectlFindings | null> {
  if (!isFuseMount(mount)) return null;
  const connection = fuseConnectionOf(mount);
  const dir = host.sys('fs', 'fuse', 'connections');
  const file = host.sys('fs', 'fuse', 'connections', connection, 'waiting');
  let text = await host.readText(file);
  let mountedFusectl = false;
  if (text === null) {
    const entries = await host.readDir(dir);
    if (entries !== null && entries.length === 0) {
      // Why: fusectl is often not mounted in containers; mounting it is harmless and idempotent.
      const r = await host.exec(['mount', '-t', 'fusectl', 'fusectl', dir], { timeoutMs: 2000 });
      mountedFusectl = r.code === 0;
      if (mountedFusectl) text = await host.readText(file);
    }
  }
  const waiting = text !== null && /^\d+\s*$/.test(text) ? Number(text.trim()) : null;
  const evidence: Evidence[] = [
    waiting === null
      ? { source: 'fusectl', detail: `${file} could not be read (fusectl not mounted, or not root)` }
      : {
          source: 'fusectl',
          detail: `${waiting} request${waiting === 1 ? '' : 's'} waiting on FUSE connection ${connection} (${file})`,
        },
  ];
  return { connection, waiting, mountedFusectl, evidence };
}
