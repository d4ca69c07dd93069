// The shape of the mount table around one mount (DESIGN §6): the other binds of its superblock, the
// mounts stacked with it on one path, its children and its parent. Pure: it reads a parsed table.
import type { MountInfo } from './parse.js';

// A mount named in a topology: enough to find it again and to say what it is.
export interface MountRef {
  id: number;
  mountpoint: string;
  root: string;
  fstype: string;
  deleted: boolean; // its root (or mountpoint) carries the kernel's //deleted
}

export interface MountTopology {
  device: string; // "major:minor", the superblock
  root: string; // this mount's root within the filesystem
  parentId: number;
  binds: MountRef[]; // the other mounts of the same superblock in this namespace, table order
  stackedOn: MountRef | null; // the mount this one hides on the same path
  stackedUnder: MountRef | null; // the mount that hides this one on the same path
  children: MountRef[]; // mounts attached on paths under this one (not the stacked one)
  parent: MountRef | null;
}

// A mount as a MountRef.
export function refOf(m: MountInfo): MountRef {
  return { id: m.id, mountpoint: m.mountpoint, root: m.root, fstype: m.fstype, deleted: m.deleted };
}

// True when both mounts show the same superblock (a bind of one another).
export function sameSuperblock(a: MountInfo, b: MountInfo): boolean {
  return a.major === b.major && a.minor === b.minor && a.fstype === b.fstype && a.source === b.source;
}

// The topology of `m` within `mounts` (this namespace's table).
export function topologyOf(mounts: readonly MountInfo[], m: MountInfo): MountTopology {
  const byId = new Map(mounts.map((x) => [x.id, x]));
  const parent = byId.get(m.parentId) ?? null;
  const under = mounts.find((x) => x.parentId === m.id && x.mountpoint === m.mountpoint) ?? null;
  return {
    device: `${m.major}:${m.minor}`,
    root: m.root,
    parentId: m.parentId,
    binds: mounts.filter((x) => x.id !== m.id && sameSuperblock(x, m)).map(refOf),
    stackedOn: parent && parent.mountpoint === m.mountpoint ? refOf(parent) : null,
    stackedUnder: under ? refOf(under) : null,
    children: childrenOf(mounts, m).map(refOf),
    parent: parent ? refOf(parent) : null,
  };
}

// Mounts attached directly under `m` on other paths (a mount stacked on m's own path is not a child).
export function childrenOf(mounts: readonly MountInfo[], m: MountInfo): MountInfo[] {
  return mounts.filter((x) => x.parentId === m.id && x.mountpoint !== m.mountpoint);
}

// Every mount below `m` (children, their children...), parents before children.
export function descendantsOf(mounts: readonly MountInfo[], m: MountInfo): MountInfo[] {
  const out: MountInfo[] = [];
  const walk = (p: MountInfo): void => {
    const kids = mounts.filter(
      (x) => x.parentId === p.id && x.id !== p.id && !(p.id === m.id && x.mountpoint === m.mountpoint),
    );
    for (const c of kids) {
      if (out.some((o) => o.id === c.id)) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(m);
  return out;
}

// The parent chain of `m`, nearest first, stopping at the namespace root.
export function ancestorsOf(mounts: readonly MountInfo[], m: MountInfo): MountInfo[] {
  const byId = new Map(mounts.map((x) => [x.id, x]));
  const out: MountInfo[] = [];
  let cur = byId.get(m.parentId);
  while (cur && !out.some((o) => o.id === cur!.id) && cur.id !== m.id) {
    out.push(cur);
    cur = byId.get(cur.parentId);
  }
  return out;
}

// The bind of the superblock that shows its whole filesystem (root "/"), first in table order: the
// mount a remount re-creates. Null when the superblock is only mounted as subtrees.
export function primaryBind(mounts: readonly MountInfo[], m: MountInfo): MountInfo | null {
  return mounts.find((x) => sameSuperblock(x, m) && x.root === '/' && !x.deleted) ?? null;
}

// The path, under `primary`'s mountpoint, that shows the root of `bind` (same superblock): a bind of
// /sub is re-created from <primary>/sub. Null when the bind's root is not inside the primary's.
export function bindSourcePath(primary: MountInfo, bind: MountInfo): string | null {
  const pr = primary.root === '/' ? '' : primary.root;
  if (bind.root !== primary.root && !bind.root.startsWith(`${pr}/`)) return null;
  const rel = bind.root.slice(pr.length);
  if (rel === '' || rel === '/') return primary.mountpoint;
  return primary.mountpoint === '/' ? rel : `${primary.mountpoint}${rel}`;
}
