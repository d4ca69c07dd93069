import type { ProbeTarget } from '../../host/types.js';
import { optionValue, type MountInfo } from '../mountinfo/parse.js';

// Who a probe of `m` must run as, seen by the user `selfUid`. A FUSE mount without allow_other
// answers only the uid and gid it was mounted by (fs/fuse/dir.c fuse_allow_current_process: root
// is not exempt), so root would only ever see EACCES; it probes such a mount as its owner, and a
// dead one is then `dead`. Everything else is probed as the caller ({}).
export function probeRunAs(m: MountInfo, selfUid: number): Pick<ProbeTarget, 'uid' | 'gid'> {
  if (selfUid !== 0 || (m.type !== 'fuse' && m.type !== 'fuseblk')) return {};
  if (m.superOptions.includes('allow_other')) return {};
  const uid = Number(optionValue(m.superOptions, 'user_id'));
  const gid = Number(optionValue(m.superOptions, 'group_id'));
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid) || gid < 0) return {};
  return { uid, gid };
}
