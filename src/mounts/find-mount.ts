import path from 'node:path';
import { EnotconnError } from '../errors.js';
import type { Host } from '../host/types.js';
import type { MountInfo } from './mountinfo/parse.js';
import { DEFAULT_TYPES, readMounts, typeMatches } from './scan.js';

// The mount that holds `p`: the topmost mount whose mountpoint is the longest prefix of the path.
// The path is resolved lexically, never with realpath or stat: those would block on a hung mount.
export function mountContaining(mounts: readonly MountInfo[], p: string): MountInfo | null {
  const abs = path.resolve(p);
  let best: MountInfo | null = null;
  for (const m of mounts) {
    const mp = m.mountpoint;
    const inside = abs === mp || mp === '/' || abs.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    // Later entries with the same mountpoint are mounted on top: prefer them (>=).
    if (inside && (!best || mp.length >= best.mountpoint.length)) best = m;
  }
  return best;
}

// The network or FUSE mount under which `p` lies, or ENC_NOT_A_MOUNT with a message that says what to do.
export async function mountForPath(host: Host, p: string): Promise<MountInfo> {
  const mounts = await readMounts(host);
  const m = mountContaining(mounts, p);
  if (!m || !typeMatches(m.fstype, DEFAULT_TYPES)) {
    const what = m ? `on ${m.mountpoint} (${m.fstype})` : 'on no mount';
    throw new EnotconnError(
      'ENC_NOT_A_MOUNT',
      `${p} is not under a network or FUSE mount (it lies ${what}); run 'enotconn scan' to list those mounts`,
    );
  }
  return m;
}
