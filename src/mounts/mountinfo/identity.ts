// A mount is not a path (DESIGN §6): it is its mount id, its device (major:minor), its root within
// the filesystem and its parent. Heal takes this identity once, and re-reads the mount table before
// every step: if the path now names another mount, the step does not run.
import type { MountInfo } from './parse.js';

export interface MountIdentity {
  id: number;
  parentId: number;
  major: number;
  minor: number;
  root: string;
  mountpoint: string;
}

// The identity of a mount, as mountinfo gives it.
export function identityOf(m: MountInfo): MountIdentity {
  return { id: m.id, parentId: m.parentId, major: m.major, minor: m.minor, root: m.root, mountpoint: m.mountpoint };
}

// True when the two name the same mount: same id, device, root and parent.
export function sameIdentity(a: MountIdentity, b: MountIdentity): boolean {
  return a.id === b.id && a.parentId === b.parentId && a.major === b.major && a.minor === b.minor && a.root === b.root;
}

// "mount 44 (0:39, root /sub) on /mnt/x": how reports name a mount.
export function describeIdentity(m: MountIdentity): string {
  return `mount ${m.id} (${m.major}:${m.minor}${m.root !== '/' ? `, root ${m.root}` : ''}) on ${m.mountpoint}`;
}

// The topmost mount on exactly this mountpoint in `mounts` (later entries are mounted on top).
export function topAt(mounts: readonly MountInfo[], mountpoint: string): MountInfo | null {
  return mounts.filter((m) => m.mountpoint === mountpoint).at(-1) ?? null;
}

export type IdentityCheck = { ok: true; mount: MountInfo } | { ok: false; reason: string; now: MountInfo | null };

// Is `want` still the mount on top of its mountpoint (the one a path-based umount would act on)?
// With `noChildren`, also that nothing is mounted under it now: a lazy unmount would take such a
// child along (DESIGN §6: never silently). Pure, on a table already read.
export function checkIdentity(
  mounts: readonly MountInfo[],
  want: MountIdentity,
  opts: { noChildren?: boolean; allowChildren?: ReadonlySet<number> } = {},
): IdentityCheck {
  const top = topAt(mounts, want.mountpoint);
  if (!top) return { ok: false, reason: `nothing is mounted on ${want.mountpoint} any more`, now: null };
  if (!sameIdentity(identityOf(top), want)) {
    const stillThere = mounts.some((m) => sameIdentity(identityOf(m), want));
    return {
      ok: false,
      reason: `${want.mountpoint} now names ${describeIdentity(identityOf(top))}, not ${describeIdentity(want)}${stillThere ? ' (which is still mounted, elsewhere or underneath)' : ''}`,
      now: top,
    };
  }
  if (opts.noChildren) {
    // allowChildren: children the plan mounts again afterwards from their own recipes.
    const kids = mounts.filter(
      (m) => m.parentId === top.id && m.mountpoint !== top.mountpoint && !opts.allowChildren?.has(m.id),
    );
    if (kids.length > 0) {
      return {
        ok: false,
        reason: `${kids.length} mount(s) are attached under ${want.mountpoint} (${kids.map((k) => k.mountpoint).join(', ')}); a lazy unmount would detach them too`,
        now: top,
      };
    }
  }
  return { ok: true, mount: top };
}

// The mount that replaced `old` on its mountpoint after a remount: on top of that path, with the same
// parent, and not one of the mounts that were there after the old one left (`present`, by id). Why
// not "any mount at the path": when stacked, the layer underneath is there all along.
export function findReplacement(
  mounts: readonly MountInfo[],
  old: MountIdentity,
  present: ReadonlySet<number>,
): MountInfo | null {
  const top = topAt(mounts, old.mountpoint);
  if (!top || present.has(top.id) || top.parentId !== old.parentId) return null;
  return top;
}
