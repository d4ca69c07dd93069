// What root executes (DESIGN section 7): every program by absolute path, resolved once from
// root-owned directories that nobody else can write, with a fixed environment. A user's PATH, a
// recipe's argv[0] or a binary in a home directory is never what root runs.
import fs from 'node:fs';
import path from 'node:path';

// The only directories a program is looked up in, in order. Why these four: they hold the
// distribution's binaries and are root-owned 0755 on every FHS system (hier(7)); /usr/local is
// left out because it is the conventional place for things installed by hand.
export const TRUSTED_DIRS: readonly string[] = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

// The environment every program root runs gets: nothing inherited, nothing from a recipe.
export const FIXED_PATH = TRUSTED_DIRS.join(':');
export const FIXED_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: FIXED_PATH, LANG: 'C' });

// The programs enotconn runs, by the name the code uses.
export type ProgramName =
  | 'setpriv'
  | 'env'
  | 'fusermount3'
  | 'fusermount'
  | 'umount'
  | 'mount'
  | 'systemctl'
  | 'systemd-run'
  | 'nsenter'
  | 'stat'
  | 'sha256sum'
  | 'ls'
  | 'find'
  | 'perl'
  | 'ssh';

const cache = new Map<string, string | null>();

// True when `file` and every directory above it are owned by root and not writable by group or
// others (a root-owned binary in a user-writable directory can be swapped by that user).
// Only for paths under TRUSTED_DIRS: they live on the root filesystem, so stat cannot hang here.
export function rootOwnedChain(file: string, st: (p: string) => fs.Stats | null = safeStat): boolean {
  let p = file;
  for (;;) {
    const s = st(p);
    if (!s || s.uid !== 0 || (s.mode & 0o022) !== 0) return false;
    if (p === '/') return true;
    p = path.dirname(p);
  }
}

function safeStat(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

// True when `p` is a plain absolute path inside one of TRUSTED_DIRS (no "..", no empty part).
export function inTrustedDir(p: string): boolean {
  if (!p.startsWith('/') || p.includes('\0')) return false;
  if (path.posix.normalize(p) !== p) return false;
  const dir = path.posix.dirname(p);
  return TRUSTED_DIRS.includes(dir);
}

// The absolute path of a trusted executable, or null. A bare name is looked up in TRUSTED_DIRS; an
// absolute path is accepted only when it lies directly in one of them. Either way the file must be
// a root-owned regular file with an execute bit that group and others cannot write. Cached.
export function resolveTrusted(name: string): string | null {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let found: string | null = null;
  const candidates = name.includes('/') ? (inTrustedDir(name) ? [name] : []) : TRUSTED_DIRS.map((d) => `${d}/${name}`);
  for (const c of candidates) {
    const s = safeStat(c);
    if (s && s.isFile() && (s.mode & 0o111) !== 0 && rootOwnedChain(c)) {
      found = c;
      break;
    }
  }
  cache.set(name, found);
  return found;
}

// The absolute path of one of enotconn's own programs; the name itself when it is not installed
// (the spawn then fails with ENOENT, which the caller reports).
export function program(name: ProgramName): string {
  return resolveTrusted(name) ?? `/nonexistent/${name}`;
}

// Forget what was resolved (tests that install a program while running).
export function clearProgramCache(): void {
  cache.clear();
}

// An environment for a child of root: FIXED_ENV plus the caller's extras, never PATH or LD_*.
export function fixedEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = { ...FIXED_ENV };
  for (const [k, v] of Object.entries(extra)) {
    if (k === 'PATH' || k.startsWith('LD_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}
