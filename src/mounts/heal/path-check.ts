// Checking a mountpoint's path without following it: every component is lstat'ed in the native
// helper, on a thread it abandons at the deadline (or, without the helper, by one `stat` (no -L)
// child with a deadline), so a component on a hung mount stalls only that thread or child, never
// heal. A symlink anywhere, a missing directory, or a directory that is no longer the one
// recorded before the first step (same device and inode) stops the step.
import type { Host, StatFields } from '../../host/types.js';

// One directory of the path as lstat saw it.
export interface DirIdentity {
  path: string;
  dev: number;
  ino: number;
  uid: number;
}

export type PathCheck =
  | { ok: true; dirs: DirIdentity[] }
  | {
      ok: false;
      problem: 'relative' | 'symlink' | 'missing' | 'not-a-directory' | 'timeout' | 'changed' | 'error';
      at: string | null;
      detail: string;
    };

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

// "/a/b/c" → ["/", "/a", "/a/b"] (and "/a/b/c" with includeLast).
export function pathComponents(p: string, includeLast: boolean): string[] {
  const parts = p.split('/').filter((x) => x !== '');
  const out = ['/'];
  const n = includeLast ? parts.length : parts.length - 1;
  for (let i = 1; i <= n; i++) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

// lstat every component of `p` (its parents only, unless includeLast) in one request or child process.
export async function checkPath(
  host: Host,
  p: string,
  // skipUnder: components at or below this directory are not looked at (a dead mount's tree: every
  // lookup there fails with ENOTCONN, and nobody can change it while its daemon is gone).
  opts: { includeLast: boolean; timeoutMs: number; skipUnder?: string },
): Promise<PathCheck> {
  if (!p.startsWith('/') || p.split('/').some((x) => x === '.' || x === '..')) {
    return { ok: false, problem: 'relative', at: p, detail: `${p} is not a plain absolute path` };
  }
  const skip = opts.skipUnder;
  const comps = pathComponents(p, opts.includeLast).filter(
    (c) => skip === undefined || (c !== skip && !c.startsWith(skip === '/' ? '/' : `${skip}/`)),
  );
  if (comps.length === 0) return { ok: true, dirs: [] };
  const timeout: PathCheck = {
    ok: false,
    problem: 'timeout',
    at: null,
    detail: `lstat of the path did not return within ${opts.timeoutMs}ms`,
  };
  // "/" and each longer prefix down to the last component: exactly `comps` (pathComponents).
  const h = await host.statInHelper(comps.at(-1)!, false, opts.timeoutMs);
  if (h?.timedOut) return timeout;
  const stats: Array<StatFields | null> = [];
  if (h) {
    for (const it of h.items) stats.push('errno' in it ? null : it);
  } else {
    const r = await host.exec(['stat', '--printf=%d %i %u %f\\n', '--', ...comps], {
      timeoutMs: opts.timeoutMs,
    });
    if (r.timedOut) return timeout;
    if (r.spawnError) return { ok: false, problem: 'error', at: null, detail: `stat could not start: ${r.spawnError}` };
    for (const l of r.stdout.split('\n')) {
      const f = l.split(' ');
      if (f.length >= 4)
        stats.push({ dev: Number(f[0]), ino: Number(f[1]), uid: Number(f[2]), mode: parseInt(f[3]!, 16) });
    }
  }
  const dirs: DirIdentity[] = [];
  for (let i = 0; i < comps.length; i++) {
    const at = comps[i]!;
    const st = stats[i];
    if (!st) return { ok: false, problem: 'missing', at, detail: `${at} does not exist (or cannot be read)` };
    if ((st.mode & S_IFMT) === S_IFLNK)
      return { ok: false, problem: 'symlink', at, detail: `${at} is a symbolic link` };
    if ((st.mode & S_IFMT) !== S_IFDIR) {
      return { ok: false, problem: 'not-a-directory', at, detail: `${at} is not a directory` };
    }
    dirs.push({ path: at, dev: st.dev, ino: st.ino, uid: st.uid });
  }
  return { ok: true, dirs };
}

// The first directory of `now` that is not the one recorded in `before` (same path, other inode).
export function changedDir(before: readonly DirIdentity[], now: readonly DirIdentity[]): DirIdentity | null {
  for (const b of before) {
    const n = now.find((d) => d.path === b.path);
    if (n && (n.dev !== b.dev || n.ino !== b.ino)) return n;
  }
  return null;
}

// Check the path and compare it with what was recorded before the first step.
export async function verifyPath(
  host: Host,
  p: string,
  recorded: readonly DirIdentity[] | null,
  opts: { includeLast: boolean; timeoutMs: number },
): Promise<PathCheck> {
  const c = await checkPath(host, p, opts);
  if (!c.ok || recorded === null) return c;
  const moved = changedDir(recorded, c.dirs);
  if (moved) {
    return {
      ok: false,
      problem: 'changed',
      at: moved.path,
      detail: `${moved.path} is no longer the directory it was when heal started (device/inode changed)`,
    };
  }
  return c;
}

// Does `p` exist (following symlinks)? Asked of the native helper or a `stat` child with a
// deadline, never of our own process: the path is a user's choice (a mount source) and may lie on
// a hung mount. A timeout is "don't know", reported as false.
export async function existsBounded(host: Host, p: string, timeoutMs = 1000): Promise<boolean> {
  if (!p.startsWith('/')) return false;
  const h = await host.statInHelper(p, true, timeoutMs);
  if (h) return !h.timedOut && h.items.length === 1 && !('errno' in h.items[0]!);
  const r = await host.exec(['stat', '-L', '--printf=%i', '--', p], { timeoutMs });
  return r.code === 0;
}
