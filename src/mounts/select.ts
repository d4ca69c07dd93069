// Which mounts a scan covers, and the identity a probe of one goes by. Small and free of I/O: the
// CLI's entry uses it to send a plain scan's probes before the scan's own code is loaded.
import type { ProbeTarget } from '../host/types.js';
import type { MountInfo } from './mountinfo/parse.js';
import { probeRunAs } from './probe/run-as.js';

// Network and FUSE filesystems covered by default (DESIGN §2).
export const DEFAULT_TYPES: readonly string[] = [
  'fuse',
  'fuse.*',
  'fuseblk',
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  '9p',
  'ceph',
  'glusterfs',
  'davfs',
  'lustre',
  'gpfs',
];

// True when the mount's fstype is covered by `patterns` (`fuse.*` matches any FUSE subtype).
export function typeMatches(fstype: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('.*') ? fstype.startsWith(p.slice(0, -1)) : p === fstype));
}

// The mounts a scan covers, in mount-table order.
export function selectMounts(
  mounts: readonly MountInfo[],
  opts: { all: boolean; types: readonly string[] | null; paths?: readonly string[] },
): MountInfo[] {
  const under = (mp: string): boolean =>
    !opts.paths ||
    opts.paths.length === 0 ||
    opts.paths.some((p) => mp === p || mp.startsWith(p.endsWith('/') ? p : `${p}/`));
  return mounts.filter((m) => under(m.mountpoint) && (opts.all || typeMatches(m.fstype, opts.types ?? DEFAULT_TYPES)));
}

// A stable identity for a mount across processes: device plus mountpoint.
export function mountKey(m: MountInfo): string {
  return `${m.major}:${m.minor}@${m.mountpoint}`;
}

// The top mount of each mountpoint: a later mount on the same path hides the earlier one, and
// only the top one can be probed.
export function topMounts(all: readonly MountInfo[]): Map<string, MountInfo> {
  const top = new Map<string, MountInfo>();
  for (const m of all) top.set(m.mountpoint, m);
  return top;
}

// The probe of mount `m` as the user `selfUid` sends it.
export function probeTarget(m: MountInfo, selfUid: number): ProbeTarget {
  return { key: mountKey(m), path: m.mountpoint, ...probeRunAs(m, selfUid) };
}
