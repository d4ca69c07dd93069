import path from 'node:path';
import type { Host } from '../host/types.js';
import { parseProcStat, readCmdline } from '../host/proc.js';
import { daemonHoldsConnection } from './fuse-connection.js';

// One process as /proc shows it.
export interface ProcessInfo {
  pid: number;
  argv: string[];
  comm: string;
  state: string;
  ppid: number;
  startTicks: number;
}

const BATCH = 128;

// One process's argv and stat, or null when it is gone (or unreadable).
export async function readProcessInfo(host: Host, pid: number): Promise<ProcessInfo | null> {
  const [statText, argv] = await Promise.all([host.readText(host.proc(pid, 'stat')), readCmdline(host, pid)]);
  const st = statText === null ? null : parseProcStat(pid, statText);
  if (!st || argv === null) return null;
  return { pid, argv, comm: st.comm, state: st.state, ppid: st.ppid, startTicks: st.startTicks };
}

// Every process with its argv and stat, read in parallel batches. Kernel threads have argv [].
// With argvOnly, stat is not read (comm, state, ppid and startTicks are left empty): scan's fast path.
export async function readProcessTable(host: Host, opts: { argvOnly?: boolean } = {}): Promise<ProcessInfo[]> {
  const pids = await host.listPids();
  const out: ProcessInfo[] = [];
  for (let i = 0; i < pids.length; i += BATCH) {
    const batch = await Promise.all(
      pids.slice(i, i + BATCH).map(async (pid): Promise<ProcessInfo | null> => {
        if (opts.argvOnly) {
          const argv = await readCmdline(host, pid);
          return argv === null || argv.length === 0 ? null : { pid, argv, comm: '', state: '', ppid: 0, startTicks: 0 };
        }
        return readProcessInfo(host, pid);
      }),
    );
    for (const p of batch) if (p) out.push(p);
  }
  return out;
}

// True when the process holds /dev/fuse open (a FUSE daemon does; fusermount passes it the fd).
export async function holdsDevFuse(host: Host, pid: number): Promise<boolean> {
  const fds = await host.readDir(host.proc(pid, 'fd'));
  if (!fds) return false;
  for (const fd of fds) {
    if ((await host.readLink(host.proc(pid, 'fd', fd))) === '/dev/fuse') return true;
  }
  return false;
}

function basename(p: string | undefined): string {
  return p === undefined ? '' : p.slice(p.lastIndexOf('/') + 1);
}

// Index of every path named in any process's argv (relative ones resolved against that process's
// cwd, read once per process), built once per process table and shared by every mount's lookup.
const pathIndexes = new WeakMap<readonly ProcessInfo[], Promise<Map<string, ProcessInfo[]>>>();

function pathIndex(host: Host, table: readonly ProcessInfo[]): Promise<Map<string, ProcessInfo[]>> {
  let idx = pathIndexes.get(table);
  if (!idx) {
    idx = (async () => {
      const map = new Map<string, ProcessInfo[]>();
      const add = (key: string, p: ProcessInfo): void => {
        const list = map.get(key);
        if (!list) map.set(key, [p]);
        else if (!list.includes(p)) list.push(p);
      };
      await Promise.all(
        table.map(async (p) => {
          if (p.pid === process.pid || p.argv.length < 2 || p.state === 'Z') return;
          const args = p.argv.slice(1).filter((a) => a.length > 0 && !a.startsWith('-'));
          const relative = args.filter((a) => !a.startsWith('/'));
          const cwd = relative.length > 0 ? await host.readLink(host.proc(p.pid, 'cwd')) : null;
          for (const a of args) {
            if (a.startsWith('/')) add(stripSlash(a), p);
            else if (cwd) add(stripSlash(path.resolve(cwd, a)), p);
          }
        }),
      );
      return map;
    })();
    pathIndexes.set(table, idx);
  }
  return idx;
}

// The process that serves a FUSE mount: its argv names the mountpoint (absolute, or relative to
// its cwd), and it holds /dev/fuse, or runs a known FUSE daemon program. Null when none is found.
// A candidate the kernel shows holding another connection, or no /dev/fuse at all, is never it:
// argv is only a hint (daemonHoldsConnection).
export async function findFuseDaemon(
  host: Host,
  mount: { mountpoint: string; source: string; subtype: string | null; minor?: number; superOptions?: string[] },
  table: readonly ProcessInfo[],
  knownDaemons: ReadonlySet<string>,
): Promise<ProcessInfo | null> {
  const named = (await pathIndex(host, table)).get(stripSlash(mount.mountpoint)) ?? [];
  const candidates: ProcessInfo[] = [];
  for (const p of named) {
    if (mount.minor === undefined) {
      candidates.push(p);
      continue;
    }
    const uid = mount.superOptions?.find((o) => o.startsWith('user_id='))?.slice('user_id='.length);
    const owner = uid !== undefined && /^\d+$/.test(uid) ? Number(uid) : null;
    const proof = await daemonHoldsConnection(host, p.pid, mount.minor, owner);
    if (proof.holds) return p;
    if (proof.why === 'unknown') candidates.push(p);
  }
  const scored = candidates.map((p) => {
    const prog = basename(p.argv[0]);
    let score = 1;
    if (knownDaemons.has(prog) || (mount.subtype !== null && prog === mount.subtype)) score += 2;
    if (p.argv.includes(mount.source)) score += 1;
    return { p, score };
  });
  scored.sort((a, b) => b.score - a.score || a.p.pid - b.p.pid);
  // One known daemon program naming the mountpoint is the answer; /dev/fuse decides between several.
  if (scored.length === 1 && scored[0]!.score >= 3) return scored[0]!.p;
  for (const { p, score } of scored) {
    if (await holdsDevFuse(host, p.pid)) return p;
    // Without permission to read another user's fds, trust a known daemon program.
    if (score >= 3 && (await host.readDir(host.proc(p.pid, 'fd'))) === null) return p;
  }
  // A parent that forked the daemon (rclone --daemon, sshfs without -f) exits; a supervisor may not.
  return scored.find((s) => s.score >= 3)?.p ?? null;
}

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
