// Reads of paths a user chose (a mountpoint's parents, a mount's top directory, a sample file),
// done by the native helper on a thread it abandons at the deadline: a path on a hung mount never
// blocks this process, and no program is started for it. Hosts without the helper (the Node probe
// child, fixture and fake hosts) have none, and callers run a program with a timeout instead.

// What stat(2)/lstat(2) says of a path, as stat(1) --printf='%d %i %u %g %f' prints it.
export interface FileStat {
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  mode: number; // st_mode: type and permission bits
}

// An answer, or why there is none (no answer in time, or the request could not be made).
export type Bounded<T> = ({ ok: true } & T) | { ok: false; timedOut: boolean; detail: string };

export interface BoundedFs {
  // lstat(2) (stat(2) with `follow`) of each path: null for one that cannot be stat'ed.
  stat(
    paths: readonly string[],
    follow: boolean,
    timeoutMs: number,
  ): Promise<Bounded<{ stats: Array<FileStat | null> }>>;
  // A directory's entry count (as `ls -A`) and, with maxFileBytes, the first by name of its regular
  // files of at most that size (as `find -maxdepth 1 -type f -size`); the directory is not followed.
  summarizeDir(
    dir: string,
    maxFileBytes: number | null,
    timeoutMs: number,
  ): Promise<Bounded<{ entries: number; firstFile: string | null }>>;
  // At most maxBytes of a file (not followed if it is a symlink).
  read(file: string, maxBytes: number, timeoutMs: number): Promise<Bounded<{ data: Buffer }>>;
}

// A stat field list from the helper ("dev:ino:uid:gid:mode" or "-errno").
export function parseStatItem(item: string): FileStat | null {
  const f = item.split(':');
  if (f.length !== 5 || item.startsWith('-')) return null;
  const [dev, ino, uid, gid, mode] = f.map(Number) as [number, number, number, number, number];
  return { dev, ino, uid, gid, mode };
}
