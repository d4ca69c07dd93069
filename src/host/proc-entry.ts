// What enotconn reads of a process under /proc/<pid>: its argv and stat, its links (ns/mnt, cwd,
// root, exe, every fd), the FUSE connection of each /dev/fuse fd, and the paths it maps under a
// prefix. The real host reads them through the native helper, one request per process or one for
// every process (instead of a libuv round trip per file); other hosts, and the Node probe child,
// compose them here from readText/readLink/readDir.
import type { Host } from './types.js';

// What readProcess and readProcesses can read.
export type ProcField = 'argv' | 'stat' | 'mntns' | 'cwd' | 'root' | 'exe' | 'fds' | 'fuse' | 'maps';

// The FUSE connections a process serves: the `fuse_connection:` of each /dev/fuse fd it holds
// (fs/fuse/dev.c fuse_dev_show_fdinfo, Linux 6.16+); `unattached` counts /dev/fuse fds that name
// none (not mounted yet, or an older kernel).
export interface FuseFds {
  connections: number[];
  unattached: number;
}

// The fields asked for; a field is null when it could not be read (gone, not ours, or no answer
// in time).
export interface ProcEntry {
  pid: number;
  argv?: string[] | null; // /proc/<pid>/cmdline split at NULs; [] for kernel threads
  stat?: string | null; // /proc/<pid>/stat as text
  mntns?: string | null; // readlink of ns/mnt
  cwd?: string | null;
  root?: string | null;
  exe?: string | null;
  fds?: Array<{ fd: string; target: string }> | null; // null: /proc/<pid>/fd could not be listed
  fuse?: FuseFds | null; // null: /proc/<pid>/fd could not be listed
  maps?: string[] | null; // distinct mapped paths starting with the prefix asked for
}

export interface ProcReadOptions {
  mapsPrefix?: string; // only mapped paths that start with this ('/' when absent)
  // readProcesses: stop at this time (performance.now) and say the table is incomplete.
  deadline?: number;
}

// Every process's entry, pid ascending; `complete` is false when the deadline cut the walk short.
export interface ProcTable {
  entries: ProcEntry[];
  complete: boolean;
}

// The helper protocol's letter for each field (native/enotconn-helper.c, requests L and T).
export const FIELD_LETTERS: Record<ProcField, string> = {
  argv: 'a',
  stat: 's',
  mntns: 'n',
  cwd: 'c',
  root: 'r',
  exe: 'e',
  fds: 'f',
  fuse: 'u',
  maps: 'm',
};

// Fields whose read takes the process's mmap lock (cmdline through access_remote_vm, maps through
// the VMA walk): the ones a process faulting on a hung mount can block.
export const MM_FIELDS: ReadonlySet<ProcField> = new Set(['argv', 'maps']);

const FUSE_CONNECTION = /^fuse_connection:\s*(\d+)\s*$/m;
const LINKS = { mntns: ['ns', 'mnt'], cwd: ['cwd'], root: ['root'], exe: ['exe'] } as const;

// argv from cmdline text (NUL-separated, a trailing NUL).
export function splitCmdline(text: string): string[] {
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

// The distinct paths in /proc/<pid>/maps text (the sixth field onward) that start with `prefix`.
export function mappedPathsIn(maps: string, prefix = '/'): string[] {
  const out = new Set<string>();
  for (const line of maps.split('\n')) {
    // address perms offset dev inode pathname; the pathname may contain spaces.
    const m = /^\S+ \S+ \S+ \S+ \d+\s+(\/.*)$/.exec(line);
    if (m && m[1]!.startsWith(prefix)) out.add(m[1]!);
  }
  return [...out];
}

// The fields of `pid`, one host read at a time (hosts without the helper). maps is read last.
export async function procEntryByParts(
  host: Host,
  pid: number,
  what: readonly ProcField[],
  opts: ProcReadOptions = {},
): Promise<ProcEntry> {
  const out: ProcEntry = { pid };
  const wantFds = what.includes('fds') || what.includes('fuse');
  const [, fds] = await Promise.all([
    Promise.all(
      what.map(async (w) => {
        if (w === 'argv') {
          const text = await host.readText(host.proc(pid, 'cmdline'));
          out.argv = text === null ? null : splitCmdline(text);
        } else if (w === 'stat') out.stat = await host.readText(host.proc(pid, 'stat'));
        else if (w === 'mntns' || w === 'cwd' || w === 'root' || w === 'exe') {
          out[w] = await host.readLink(host.proc(pid, ...LINKS[w]));
        }
      }),
    ),
    wantFds ? host.readDir(host.proc(pid, 'fd')) : Promise.resolve(null),
  ]);
  if (wantFds) {
    const targets =
      fds === null
        ? null
        : (
            await Promise.all(fds.map(async (fd) => ({ fd, target: await host.readLink(host.proc(pid, 'fd', fd)) })))
          ).filter((x): x is { fd: string; target: string } => x.target !== null);
    if (what.includes('fds')) out.fds = targets;
    if (what.includes('fuse')) out.fuse = targets === null ? null : await fuseFds(host, pid, targets);
  }
  if (what.includes('maps')) {
    const maps = await host.readText(host.proc(pid, 'maps'));
    out.maps = maps === null ? null : mappedPathsIn(maps, opts.mapsPrefix ?? '/');
  }
  return out;
}

async function fuseFds(
  host: Host,
  pid: number,
  targets: ReadonlyArray<{ fd: string; target: string }>,
): Promise<FuseFds> {
  const fuse: FuseFds = { connections: [], unattached: 0 };
  await Promise.all(
    targets
      .filter((x) => x.target === '/dev/fuse')
      .map(async ({ fd }) => {
        const info = await host.readText(host.proc(pid, 'fdinfo', fd), 4096);
        const m = info === null ? null : FUSE_CONNECTION.exec(info);
        if (m) fuse.connections.push(Number(m[1]));
        else fuse.unattached++;
      }),
  );
  return fuse;
}

function unhex(h: string): string | null {
  return h === '-' ? null : h === '.' ? '' : Buffer.from(h, 'hex').toString('latin1');
}

function hexList(f: string): string[] | null {
  return f === '-' ? null : f === '.' ? [] : f.split(',').map((h) => Buffer.from(h, 'hex').toString('latin1'));
}

// The entry from the helper's reply fields (in the order of `what`; a missing field is unreadable).
export function procEntryFromFields(pid: number, what: readonly ProcField[], fields: readonly string[]): ProcEntry {
  const out: ProcEntry = { pid };
  what.forEach((w, i) => {
    const f = fields[i] ?? '-';
    if (w === 'argv') {
      const text = unhex(f);
      out.argv = text === null ? null : splitCmdline(text);
    } else if (w === 'stat') out.stat = unhex(f);
    else if (w === 'maps') out.maps = hexList(f);
    else if (w === 'fds') {
      out.fds =
        f === '-'
          ? null
          : f === '.'
            ? []
            : f.split(',').map((e) => {
                const colon = e.indexOf(':');
                return { fd: e.slice(0, colon), target: Buffer.from(e.slice(colon + 1), 'hex').toString('latin1') };
              });
    } else if (w === 'fuse') {
      if (f === '-') out.fuse = null;
      else {
        const fuse: FuseFds = { connections: [], unattached: 0 };
        if (f !== '.') {
          for (const c of f.split(',')) {
            if (c === '?') fuse.unattached++;
            else fuse.connections.push(Number(c));
          }
        }
        out.fuse = fuse;
      }
    } else {
      out[w] = unhex(f);
    }
  });
  return out;
}
