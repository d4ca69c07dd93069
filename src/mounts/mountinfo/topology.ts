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

// Lookups over one table, built once per table: scan asks for the topology of every mount, and a
// linear search per mount made a 1,000-mount scan quadratic (~190 ms of its profile).
interface TableIndex {
  length: number; // the table's length when indexed (a table that grew is indexed again)
  byId: Map<number, MountInfo>;
  children: Map<number, MountInfo[]>; // parent id -> mounts whose parent it is, table order
  bySuperblock: Map<string, MountInfo[]>; // sameSuperblock key -> its mounts, table order
}
const indexes = new WeakMap<readonly MountInfo[], TableIndex>();
const NONE: readonly MountInfo[] = [];

function superblockKey(m: MountInfo): string {
  return `${m.major}:${m.minor}\0${m.fstype}\0${m.source}`;
}

function indexOf(mounts: readonly MountInfo[]): TableIndex {
  const cached = indexes.get(mounts);
  if (cached && cached.length === mounts.length) return cached;
  const idx: TableIndex = { length: mounts.length, byId: new Map(), children: new Map(), bySuperblock: new Map() };
  const push = <K>(map: Map<K, MountInfo[]>, k: K, m: MountInfo): void => {
    const list = map.get(k);
    if (list) list.push(m);
    else map.set(k, [m]);
  };
  for (const m of mounts) {
    idx.byId.set(m.id, m);
    push(idx.children, m.parentId, m);
    push(idx.bySuperblock, superblockKey(m), m);
  }
  indexes.set(mounts, idx);
  return idx;
}

// The topology of `m` within `mounts` (this namespace's table).
export function topologyOf(mounts: readonly MountInfo[], m: MountInfo): MountTopology {
  const idx = indexOf(mounts);
  const parent = idx.byId.get(m.parentId) ?? null;
  const under = (idx.children.get(m.id) ?? NONE).find((x) => x.mountpoint === m.mountpoint) ?? null;
  return {
    device: `${m.major}:${m.minor}`,
    root: m.root,
    parentId: m.parentId,
    binds: (idx.bySuperblock.get(superblockKey(m)) ?? NONE).filter((x) => x.id !== m.id).map(refOf),
    stackedOn: parent && parent.mountpoint === m.mountpoint ? refOf(parent) : null,
    stackedUnder: under ? refOf(under) : null,
    children: childrenOf(mounts, m).map(refOf),
    parent: parent ? refOf(parent) : null,
  };
}

// Mounts attached directly under `m` on other paths (a mount stacked on m's own path is not a child).
export function childrenOf(mounts: readonly MountInfo[], m: MountInfo): MountInfo[] {
  return (indexOf(mounts).children.get(m.id) ?? NONE).filter((x) => x.mountpoint !== m.mountpoint);
}

// Every mount below `m` (children, their children...), parents before children.
export function descendantsOf(mounts: readonly MountInfo[], m: MountInfo): MountInfo[] {
  const idx = indexOf(mounts);
  const out: MountInfo[] = [];
  const seen = new Set<number>();
  const walk = (p: MountInfo): void => {
    const kids = (idx.children.get(p.id) ?? NONE).filter(
      (x) => x.id !== p.id && !(p.id === m.id && x.mountpoint === m.mountpoint),
    );
    for (const c of kids) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      out.push(c);
      walk(c);
    }
  };
  walk(m);
  return out;
}

// The parent chain of `m`, nearest first, stopping at the namespace root.
export function ancestorsOf(mounts: readonly MountInfo[], m: MountInfo): MountInfo[] {
  const byId = indexOf(mounts).byId;
  const out: MountInfo[] = [];
  const seen = new Set<number>();
  let cur = byId.get(m.parentId);
  while (cur && !seen.has(cur.id) && cur.id !== m.id) {
    seen.add(cur.id);
    out.push(cur);
    cur = byId.get(cur.parentId);
  }
  return out;
}

// The bind of the superblock that shows its whole filesystem (root "/"), first in table order: the
// mount a remount re-creates. Null when the superblock is only mounted as subtrees.
export function primaryBind(mounts: readonly MountInfo[], m: MountInfo): MountInfo | null {
  return (indexOf(mounts).bySuperblock.get(superblockKey(m)) ?? NONE).find((x) => x.root === '/' && !x.deleted) ?? null;
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
